"""PNG charts of BENCHMARKS.md's results table (ministack vs MiniStack per
operation), written beside it and linked from it; `make bench` runs this
after bench.py. Usage: python bench/charts.py [BENCHMARKS.md]"""

import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CHARTS = [
    # file, metric, title, y label
    ("BENCHMARKS-throughput.png", "req/s", "Requests per second (higher is better)", "req/s"),
    ("BENCHMARKS-p99.png", "p99 (ms)", "p99 latency (lower is better)", "ms"),
    ("BENCHMARKS-cpu.png", "server CPU per request (µs)", "Server CPU per request (lower is better)", "µs"),
]
MARK = "## Charts"


def number(text):
    text = text.strip().replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def results(md):
    """{metric: [(case, ours, theirs)]} from the Results table."""
    table = {}
    # The core operations' table only: the newer services' figures (up to
    # tens of milliseconds per request) would flatten every other bar.
    section = md.split("## Results", 1)[-1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[0] in ("", "---") or set(cells[0]) <= {"-", ":"}:
            continue
        case, metric, ours, theirs = cells[:4]
        ours, theirs = number(ours), number(theirs)
        if ours is None or theirs is None:
            continue
        table.setdefault(metric, []).append((case, ours, theirs))
    return table


def chart(rows, title, ylabel, path):
    cases = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(max(8, 0.55 * len(cases) + 2), 5.5))
    x = range(len(cases))
    w = 0.4
    ax.bar([i - w / 2 for i in x], [r[1] for r in rows], w, label="ministack", color="#2b6cb0")
    ax.bar([i + w / 2 for i in x], [r[2] for r in rows], w, label="MiniStack", color="#dd8452")
    ax.set_xticks(list(x))
    ax.set_xticklabels(cases, rotation=40, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    md_path = Path(sys.argv[1] if len(sys.argv) > 1 else "BENCHMARKS.md")
    md = md_path.read_text()
    table = results(md)
    made = []
    for name, metric, title, ylabel in CHARTS:
        rows = table.get(metric)
        if rows:
            chart(rows, title, ylabel, md_path.parent / name)
            made.append((name, title))
    # The links, once, after the results table.
    md = re.sub(r"\n## Charts\n.*?(?=\n## |\Z)", "", md, flags=re.S)
    links = "\n".join(f"![{title}]({name})" for name, title in made)
    block = f"\n{MARK}\n\nDrawn from the table above by bench/charts.py.\n\n{links}\n"
    head, sep, tail = md.partition("\n## Non-2xx")
    md_path.write_text(head.rstrip("\n") + "\n" + block + sep + tail if sep else md.rstrip("\n") + "\n" + block)
    print(f"charts: {', '.join(n for n, _ in made)}", file=sys.stderr)


if __name__ == "__main__":
    main()
