"""Fine-tuning data formats (TRL's names): each is recognised from the rows, planned with its
format and columns in the config, asked about when the columns fit several, and refused with
the row named when a row cannot train. Token lengths are measured without the truncation a
tokenizer.json saves."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from builders import (
    FILLER,
    chat_prompt_completion_rows,
    chat_rows,
    document_summary_rows,
    instruction_rows,
    prompt_completion_rows,
    sharegpt_rows,
    write_csv,
    write_jsonl,
)
from test_fine_tuning_planning import llama_7b
from test_planning import CPU, facts

from trainwright.cli import main
from trainwright.config.schema import FineTuningDataSection
from trainwright.discovery.data import inspect_data_file
from trainwright.discovery.model import describe_model, token_lengths
from trainwright.errors import AmbiguousChoice, UserError
from trainwright.planning import Options, plan


def inspected(tmp_path: Path, rows: list[dict], name: str = "train.jsonl", **columns):
    path = write_jsonl(tmp_path / "data" / name, rows)
    return inspect_data_file(path, tmp_path, **columns)


def fine_tuning_plan(train, options: Options | None = None):
    model, architecture = llama_7b()
    return plan("fine-tuning", facts(CPU, [train]), model, options or Options(), None,
                architecture)


def data_section(train, options: Options | None = None) -> dict:
    return fine_tuning_plan(train, options).values()["data"]


# ---------------------------------------------------------------------------------------------
# Discovery: what the rows hold
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rows, kind, columns", [
    (chat_rows(20), "chat", {"messages_column": "messages"}),
    (sharegpt_rows(20), "sharegpt", {"messages_column": "conversations"}),
    (chat_prompt_completion_rows(20), "chat_prompt_completion",
     {"prompt_column": "prompt", "response_column": "completion"}),
    (prompt_completion_rows(20), "prompt_completion",
     {"prompt_column": "prompt", "response_column": "completion"}),
    (instruction_rows(20), "instruction",
     {"prompt_column": "instruction", "input_column": "input", "response_column": "output"}),
    (document_summary_rows(20), "seq2seq",
     {"prompt_column": "document", "response_column": "summary"}),
    ([{"article": "the fox runs .", "highlights": "fox runs"}] * 5, "seq2seq",
     {"prompt_column": "article", "response_column": "highlights"}),
    ([{"source": "le chat", "target": "the cat"}] * 5, "seq2seq",
     {"prompt_column": "source", "response_column": "target"}),
], ids=["chat", "sharegpt", "chat_prompt_completion", "prompt_completion", "alpaca",
        "document_summary", "article_highlights", "source_target"])
def test_each_format_is_recognised_with_its_columns(tmp_path, rows, kind, columns):
    data = inspected(tmp_path, rows)
    assert data.shape.kind == kind and data.other_shapes == ()  # Alpaca is not also input->output
    for key, value in columns.items():
        assert getattr(data.shape, key) == value
    assert data.shape.row_problems == ()
    assert len(data.shape.sample_texts) == len(rows)


def test_sharegpt_roles_are_mapped_and_an_unknown_one_names_its_row(tmp_path):
    rows = sharegpt_rows(12)
    rows[2]["conversations"][1]["from"] = "Human"  # ShareGPT exports capitalise too
    rows[6]["conversations"][2]["from"] = "bot"
    data = inspected(tmp_path, rows)
    assert data.shape.kind == "sharegpt"
    assert data.shape.row_problems == (
        ("row 7, message 3: role 'bot' is not one of system, human, user, gpt, assistant, "
         "chatgpt, function_call, tool, function, observation"),)
    with pytest.raises(UserError) as error:
        fine_tuning_plan(data)
    assert "data/train.jsonl has rows that cannot be trained on, read as ShareGPT" in \
        str(error.value)
    assert "row 7, message 3: role 'bot'" in str(error.value)


def test_a_conversational_completion_without_an_assistant_turn_is_a_bad_row(tmp_path):
    rows = chat_prompt_completion_rows(6)
    rows[3]["completion"] = [{"role": "user", "content": "and?"}]
    data = inspected(tmp_path, rows)
    assert data.shape.row_problems == (
        "row 4 'completion': no assistant turn, so there is no response to learn",)


def test_preference_rows_are_refused_naming_dpo(tmp_path):
    rows = [{"prompt": "What colour is the sky?", "chosen": "Blue.", "rejected": "Green."}] * 4
    with pytest.raises(UserError) as error:
        fine_tuning_plan(inspected(tmp_path, rows))
    assert "preference data" in str(error.value) and "DPO" in str(error.value)


# ---------------------------------------------------------------------------------------------
# The plan: format and columns in the config
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rows, expected", [
    (sharegpt_rows(30), {"format": "sharegpt", "messages_column": "conversations"}),
    (chat_prompt_completion_rows(30), {"format": "chat_prompt_completion",
                                       "prompt_column": "prompt",
                                       "response_column": "completion"}),
    (prompt_completion_rows(30), {"format": "prompt_completion", "prompt_column": "prompt",
                                  "response_column": "completion"}),
    (document_summary_rows(30), {"format": "seq2seq", "prompt_column": "document",
                                 "input_column": None, "response_column": "summary"}),
], ids=["sharegpt", "chat_prompt_completion", "prompt_completion", "seq2seq"])
def test_the_plan_names_the_format_and_columns_and_the_config_accepts_them(tmp_path, rows,
                                                                           expected):
    the_plan = fine_tuning_plan(inspected(tmp_path, rows))
    data = the_plan.values()["data"]
    assert data["objective"] == "sft"
    assert {key: data[key] for key in expected} == expected
    FineTuningDataSection(**data)  # the schema accepts what the plan writes
    assert "--data-format overrides" in the_plan.sections["data"]["format"].reason


def test_sharegpt_writes_its_role_map_and_the_schema_requires_it(tmp_path):
    data = data_section(inspected(tmp_path, sharegpt_rows(10)))
    assert data["role_map"]["human"] == "user" and data["role_map"]["gpt"] == "assistant"
    with pytest.raises(ValueError, match="role_map"):
        FineTuningDataSection(**{**data, "role_map": None})


def test_seq2seq_pairs_plan_a_prompt_response_sft_not_a_causal_lm(tmp_path):
    the_plan = fine_tuning_plan(inspected(tmp_path, document_summary_rows(40)))
    assert the_plan.value("data", "objective") == "sft"
    objective = the_plan.sections["data"]["objective"].reason
    assert objective.startswith("the rows are a source text and its target (seq2seq pairs), "
                                "in 'document', 'summary': supervised fine-tuning")
    reading = the_plan.sections["data"]["format"].reason
    assert "'document' as the user's message, 'summary' as the assistant's reply" in reading


# ---------------------------------------------------------------------------------------------
# Several readings: asked, or chosen with a flag
# ---------------------------------------------------------------------------------------------

def test_columns_that_fit_two_formats_are_asked_about(tmp_path):
    rows = [{**chat, **pair} for chat, pair in zip(chat_rows(10),
                                                   chat_prompt_completion_rows(10), strict=True)]
    data = inspected(tmp_path, rows)
    with pytest.raises(AmbiguousChoice) as error:
        fine_tuning_plan(data)
    ambiguity = error.value
    assert (ambiguity.option, ambiguity.flag) == ("data_format", "--data-format")
    assert [c.value for c in ambiguity.candidates] == ["chat", "chat_prompt_completion"]
    chosen = data_section(data, Options(data_format="chat_prompt_completion"))
    assert (chosen["format"], chosen["prompt_column"]) == ("chat_prompt_completion", "prompt")
    assert data_section(data, Options(data_format="chat"))["messages_column"] == "messages"


def test_two_response_columns_of_one_prompt_are_asked_about(tmp_path):
    rows = [{"instruction": "Say hi.", "output": "Hi.", "answer": "Hello."}] * 5
    data = inspected(tmp_path, rows)
    with pytest.raises(AmbiguousChoice) as error:
        fine_tuning_plan(data)
    assert error.value.flag == "--response-column"
    assert [c.value for c in error.value.candidates] == ["output", "answer"]
    the_plan = fine_tuning_plan(data, Options(response_column="answer"))
    assert the_plan.value("data", "response_column") == "answer"
    assert the_plan.sections["data"]["response_column"].source == "flag"


def test_without_a_terminal_init_stops_with_the_candidates_and_the_flag(tmp_path, capsys):
    rows = [{**chat, **pair} for chat, pair in zip(chat_rows(10),
                                                   chat_prompt_completion_rows(10), strict=True)]
    write_jsonl(tmp_path / "data" / "train.jsonl", rows)
    assert main(["init", "fine-tuning", str(tmp_path), "--model", "HuggingFaceTB/SmolLM2-135M",
                 "--dry-run"]) == 2
    message = capsys.readouterr().err
    assert "The fine-tuning format of data/train.jsonl: 2 candidates qualify" in message
    assert "chat: 'messages' holds role / content messages" in message
    assert "chat_prompt_completion: 'prompt' and 'completion' hold lists of messages" in message
    assert "--data-format" in message and "Traceback" not in message
    assert not (tmp_path / "training_config.yaml").exists()


def test_prompt_and_response_flags_name_a_pair_no_name_reveals(tmp_path):
    rows = [{"q": f"What colour is the {noun}?", "a": "red ."} for noun in FILLER[:10]]
    data = inspected(tmp_path, rows, prompt_column="q", response_column="a")
    section = data_section(data, Options(prompt_column="q", response_column="a"))
    assert (section["format"], section["prompt_column"], section["response_column"]) == \
        ("instruction", "q", "a")


def test_data_format_reads_a_text_pair_without_the_chat_template(tmp_path):
    rows = [{"prompt": "The sky is", "response": " blue."}] * 5
    data = inspected(tmp_path, rows)
    assert data.shape.kind == "instruction"
    assert data_section(data, Options(data_format="prompt_completion"))["format"] == \
        "prompt_completion"


def test_a_flag_that_fits_no_reading_is_refused_with_the_readings(tmp_path):
    data = inspected(tmp_path, chat_rows(5))
    with pytest.raises(UserError) as error:
        fine_tuning_plan(data, Options(data_format="sharegpt"))
    message = str(error.value)
    assert "cannot be read as --data-format sharegpt" in message
    assert "chat: 'messages' holds role / content messages" in message


# ---------------------------------------------------------------------------------------------
# Token lengths without the saved truncation
# ---------------------------------------------------------------------------------------------

def minilm_style_model(folder: Path, texts: list[str], positions: int = 512) -> Path:
    """A BERT folder whose tokenizer.json saved truncation and padding at 128 tokens, as
    sentence-transformers models (all-MiniLM-L6-v2) ship theirs."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=300,
                                                                    special_tokens=specials))
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tokenizer.enable_truncation(128)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]", length=128)
    folder.mkdir(parents=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_size": 384, "num_hidden_layers": 6,
        "num_attention_heads": 12, "intermediate_size": 1536, "vocab_size": 300,
        "max_position_embeddings": positions, "type_vocab_size": 2}))
    return folder


def long_texts(count: int = 200) -> list[str]:
    """Texts of 20 to 270 filler words, and two of 400: a 99th percentile far above 128."""
    generator = random.Random(7)
    sizes = [generator.randint(20, 270) for _ in range(count - 2)] + [400, 400]
    return [" ".join(generator.choices(FILLER, k=size)) for size in sizes]


@pytest.mark.parametrize("positions", [512, 256])
def test_lengths_are_measured_without_the_saved_truncation_and_the_cut_is_said(tmp_path,
                                                                               positions):
    texts = long_texts()
    write_csv(tmp_path / "data" / "train.csv", [(t, "a" if i % 2 else "b")
                                                for i, t in enumerate(texts)])
    model = describe_model(str(minilm_style_model(tmp_path / "minilm", texts, positions)),
                           tmp_path)
    train = inspect_data_file(tmp_path / "data" / "train.csv", tmp_path)
    lengths = token_lengths(model, train.sample_texts)
    # Every filler word is one token of the trained vocabulary, plus [CLS] and [SEP].
    assert lengths == [len(text.split()) + 2 for text in texts]
    choice = plan("classification", facts(CPU, [train]), model, Options(),
                  lengths).sections["data"]["max_length"]
    cut = sum(length > choice.value for length in lengths)
    share = f"cuts {cut} of 200 sampled texts ({100 * cut / 200:.1f} %)"
    if positions == 512:
        assert choice.value >= sorted(lengths)[197] > 128 and cut == 2
        assert f"rounded up to a multiple of 8, which {share}" in choice.reason
    else:
        assert choice.value == 256 and cut > 2
        assert f"more than the model's 256 positions, so capped at 256, which {share}" in \
            choice.reason


def test_a_long_example_is_measured_past_the_old_4000_character_cut(tmp_path):
    document = " ".join(["the quick fox runs over the old bridge ."] * 250)  # 10,250 characters
    data = inspected(tmp_path, [{"document": document, "summary": "a fox runs ."}] * 3)
    assert all(len(text) > 10_000 for text in data.shape.sample_texts)


def test_an_instruction_row_with_a_list_in_a_text_column_is_named(tmp_path):
    rows = instruction_rows(4)
    rows[1]["output"] = ["The", "old", "cat"]
    data = inspected(tmp_path, rows)
    assert data.shape.kind == "instruction"
    assert data.shape.row_problems == ("row 2: 'output' holds a list, not text",)


def test_a_column_flag_naming_no_column_lists_the_columns(tmp_path):
    data = inspected(tmp_path, chat_rows(5), prompt_column="question")
    with pytest.raises(UserError) as error:
        fine_tuning_plan(data, Options(prompt_column="question"))
    assert "has no column named by --prompt-column question (its columns: messages)" in \
        str(error.value)


def test_long_texts_are_measured_fewer_but_whole_up_to_the_longest_plannable():
    from trainwright.discovery.data import MAX_TOKENIZED_CHARS, tokenizer_sample

    sample = tokenizer_sample(["word " * 5000] * 5000)  # 25,000 characters each
    assert len(sample) == 250 and {len(text) for text in sample} == {MAX_TOKENIZED_CHARS}
    assert len(tokenizer_sample(["a short text"] * 5000)) == 1000
