from opc_eval.sanitize import extract_code_block, sanitize, truncate_at_stops


def test_chat_answer_code_block_is_extracted():
    text = "Sure! Here it is:\n```python\ndef f(x):\n    return x + 1\n```\nHope this helps."
    assert extract_code_block(text) == "def f(x):\n    return x + 1\n"


def test_sanitiser_keeps_entry_point_its_helpers_and_imports_and_drops_the_rest():
    text = (
        "Here is my solution.\n```python\nimport math\nfrom typing import List\n\nLIMIT = 10\n\n"
        "def helper(x):\n    return math.sqrt(x) + LIMIT\n\ndef unused():\n    pass\n\n"
        "def solve(xs: List[int]):\n    return [helper(x) for x in xs]\n\nprint(solve([4]))\n"
        "assert solve([1]) == [11.0]\nif __name__ == '__main__':\n    solve([])\n```\nDone."
    )
    out = sanitize(text, "solve")
    assert "import math" in out and "from typing import List" in out
    assert "def helper" in out and "LIMIT = 10" in out and "def solve" in out
    assert "unused" not in out and "print(" not in out and "assert" not in out and "__main__" not in out
    ns: dict = {}
    exec(out, ns)
    assert ns["solve"]([4]) == [12.0]


def test_sanitiser_recovers_the_parsable_prefix_of_truncated_code():
    out = sanitize("def f():\n    return 1\n\ndef g(:\n", "f")
    assert out.strip() == "def f():\n    return 1"


def test_completion_is_cut_at_the_first_stop_sequence():
    assert truncate_at_stops("    return 1\n\ndef other():\n    pass") == "    return 1\n"
