"""The Transformer demos with fast=True: their numbers and figures."""
import os

from deepgrad.demos import list_demos, run_demo


def test_registered():
    assert {"char-gpt", "attention"} <= set(list_demos())


def test_char_gpt(tmp_path):
    r = run_demo("char-gpt", str(tmp_path), fast=True)
    assert abs(r["params"]["GPT"] - r["params"]["LSTM"]) < 0.02 * r["params"]["GPT"]
    for name in ("GPT", "LSTM"):
        curve = r["results"][name]["curve"]
        assert curve[-1][1] < curve[0][1] - 0.3, name  # both learn within the budget
    assert r["winner"] in ("GPT", "LSTM") and r["samples"]["GPT"].startswith("def ")
    assert os.path.exists(os.path.join(tmp_path, "char-gpt", "char_gpt.png"))


def test_attention(tmp_path):
    r = run_demo("attention", str(tmp_path), fast=True)
    assert r["token_accuracy"] > 0.5 and r["mirror_attention"] > 1.2 / r["length"]
    assert os.path.exists(os.path.join(tmp_path, "attention", "attention.png"))
