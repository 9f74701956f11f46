"""The offline token estimate against the real o200k counts (bpe-openai ships the encoding
files, so the exact counts need no network): it must err high, since budget holds add only
10 % to the prompt's count."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import bpe_openai

from langroute.tokens import estimate_tokens

SAMPLES = Path(__file__).with_name("token_samples.json")


def corpus(public_data: Path) -> list[tuple[str, str]]:
    """Prompts and two models' answers from RouterBench and GSM8K, plus code, data formats
    and 15 non-English languages written for this test."""
    csv.field_size_limit(10**9)
    texts = [(s["kind"], s["text"]) for s in json.loads(SAMPLES.read_text())]
    for name in ("arc_challenge_test.csv", "mbpp_test.csv", "winograde_test.csv"):
        with open(public_data / "routerbench_zs" / name, newline="") as fh:
            for row in list(csv.DictReader(fh))[:100]:
                texts.append((name, row["prompt"]))
                texts.append((name, row["gpt-4-1106-preview|model_response"]))
                texts.append((name, row["meta/llama-2-70b-chat|model_response"]))
    with open(public_data / "routellm" / "gsm8k" / "gsm8k_responses.csv", newline="") as fh:
        for row in list(csv.DictReader(fh))[:100]:
            texts.append(("gsm8k", row["prompt"]))
            texts.append(("gsm8k", row["gpt-4-1106-preview_response"]))
    return [(kind, text) for kind, text in texts if text]


def test_the_offline_estimate_errs_high_on_text_code_and_other_scripts(public_data: Path):
    o200k = bpe_openai.get_encoding("o200k_base")
    texts = corpus(public_data)
    ratios = {i: estimate_tokens(t) / len(o200k.encode(t)) for i, (_, t) in enumerate(texts)}
    values = sorted(ratios.values())
    assert 1.05 <= statistics.median(values) <= 1.35
    assert sum(r < 0.9 for r in values) / len(values) <= 0.01
    written = len(json.loads(SAMPLES.read_text()))  # they come first
    for i, (kind, _) in enumerate(texts[:written]):
        assert 0.75 <= ratios[i] <= 2.5, (kind, ratios[i])
    # one token per four characters, the estimate before, gave less than 0.9x for half
    quarter = [-(-len(t) // 4) / len(o200k.encode(t)) for _, t in texts]
    assert sum(r < 0.9 for r in quarter) / len(quarter) > 0.3
    # the README's figures (pytest -s prints them)
    print(f"\n{len(values)} texts; estimate / o200k count:")
    for name, rs in (("estimate_tokens", values), ("ceil(chars / 4)", sorted(quarter))):
        under = sum(r < 0.9 for r in rs) / len(rs)
        print(
            f"  {name:16} median {statistics.median(rs):.2f}, under 0.9x: {under:.1%}, "
            f"lowest {rs[0]:.2f}"
        )
    for i, (kind, _) in enumerate(texts[:written]):
        print(f"  {kind:9} {ratios[i]:.2f} (chars / 4: {quarter[i]:.2f})")


def test_the_estimate_of_edge_cases():
    assert estimate_tokens("") == 0
    assert estimate_tokens(" ") == 0  # a space joins the next word
    assert estimate_tokens("hello world") == 2
    assert estimate_tokens("1234567") == 3  # digits in groups of three
    assert estimate_tokens("机器学习") == 4  # one token per CJK character
    assert estimate_tokens("🔥🔥") == 2
    assert estimate_tokens("a\n\nb") == 3
