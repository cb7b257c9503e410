"""Comparing two revisions of a page: rows for the HTML views, a unified diff for download.

`compare(old, new)` works on plain text and knows nothing of git or Flask. Lines are matched
first; inside a replaced block old and new lines are paired by similarity, and each pair is
compared word by word so that changing one word in a long paragraph marks just that word.

Line breaks: CRLF and a lone CR count as LF (an editor switching line endings is not an
edit). A missing newline at the end of the text *is* a difference, as in git: the unified
diff carries the `\\ No newline at end of file` marker, and the cells show the newline that
was added or removed as a highlighted `↵`.

Every piece of page text in the HTML is escaped here; the HTML methods return plain `str`
that the caller may mark safe.
"""

import bisect
import difflib
import html
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# Words are matched as a word or one punctuation character together with the whitespace
# before it: with whitespace as tokens of its own, every run of equal tokens is one word long
# and SequenceMatcher anchors on the first repeated word it meets, which garbles long lines.
_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])|\s+")
# The changed stretch is then narrowed to words, whitespace and punctuation on their own,
# so " brown" -> " red" marks "brown", not the space before it.
_FINE_TOKEN = re.compile(r"\w+|[^\S\n]+|\n|[^\w\s]")
_EOL = "\n"
_EOL_MARK = "↵"
_SKIP_MARK = "⋯"

# Beyond this many differing tokens in a line pair (after the common start and end are set
# aside) the differing middle is marked as a whole: SequenceMatcher is quadratic in the worst
# case and a 1 MB line must not stall a request.
MAX_WORD_TOKENS = 5_000
# A line pair whose share of unchanged text reaches this is shown as one changed line;
# below it, as a removed line and an added line.
PAIR_CUTOFF = 0.5
# Pairing lines by similarity compares every old line of a replaced block with every new
# one. Past this much work (pairs times tokens) lines are paired by position instead.
_PAIRING_BUDGET = 200_000
# Word-by-word comparisons of a line pair (tens of microseconds each) for one whole diff.
# Without a bound, a 57 KB page of 300 blocks of 60 short changed lines took 25 s to diff
# (the pairing compares every line of a small block with every other), and any reader can
# ask for that diff again and again. Past the budget, changed lines are shown whole.
MAX_WORD_COMPARISONS = 20_000

Opcode = tuple[str, int, int, int, int]


@dataclass(frozen=True)
class Cell:
    """One side of a row: 1-based line number and escaped HTML of the line."""

    number: int | None
    html: str


@dataclass(frozen=True)
class Row:
    """One row of the table.

    `kind` is "context", "add", "del", "change" or "skip". A skip row stands for `hidden`
    unchanged lines that are not shown; its cells hold only the "⋯" mark.
    """

    kind: str
    old: Cell | None
    new: Cell | None
    hidden: int = 0


MAX_SHOWN_ROWS = 5000  # beyond this, the unified text is the way to read a diff


@dataclass(frozen=True)
class Diff:
    rows: tuple[Row, ...]
    added: int
    removed: int
    unified: str

    @property
    def identical(self) -> bool:
        return not self.rows

    @property
    def too_large(self) -> bool:
        """Too many rows to show as a table (a browser would choke on the HTML)."""
        return len(self.rows) > MAX_SHOWN_ROWS

    def inline_html(self) -> str:
        """One column: old line numbers, new line numbers, text.

        Within each run of changes, all removed lines come first, then all added lines, as
        in `git diff`.
        """
        out = ['<table class="diff diff-inline">']
        rows = self.rows
        i = 0
        while i < len(rows):
            row = rows[i]
            if row.kind == "context":
                out.append(_inline_tr("context", row.old, row.new, row.new))
            elif row.kind == "skip":
                out.append(
                    '<tr class="skip"><td class="num"></td><td class="num"></td>'
                    f'<td class="skip">{_skip_text(row)}</td></tr>'
                )
            else:
                end = i
                while end < len(rows) and rows[end].kind in ("add", "del", "change"):
                    end += 1
                run = rows[i:end]
                out.extend(_inline_tr("del", r.old, None, r.old) for r in run if r.old)
                out.extend(_inline_tr("add", None, r.new, r.new) for r in run if r.new)
                i = end
                continue
            i += 1
        out.append("</table>")
        return "\n".join(out)

    def side_by_side_html(self) -> str:
        """Two columns: old number and text on the left, new number and text on the right."""
        out = ['<table class="diff diff-side">']
        for row in self.rows:
            if row.kind == "skip":
                out.append(
                    f'<tr class="skip"><td class="skip" colspan="4">{_skip_text(row)}</td></tr>'
                )
                continue
            left = "line" if row.kind == "context" else "line del"
            right = "line" if row.kind == "context" else "line add"
            out.append(
                f'<tr class="{row.kind}">{_side_tds(row.old, left)}{_side_tds(row.new, right)}</tr>'
            )
        out.append("</table>")
        return "\n".join(out)


def compare(
    old: str, new: str, from_label: str = "a", to_label: str = "b", context: int = 3
) -> Diff:
    """Compare two texts line by line, showing `context` unchanged lines around each change."""
    if context < 0:
        raise ValueError("context must not be negative")
    a = _lines(old)
    b = _lines(new)
    groups = list(_grouped(_line_opcodes(a, b), context))
    if not groups:
        return Diff(rows=(), added=0, removed=0, unified="")

    rows: list[Row] = []
    unified = [f"--- {from_label}\n", f"+++ {to_label}\n"]
    added = removed = 0
    budget = [MAX_WORD_COMPARISONS]
    shown_to = 0  # old lines before this index are shown or counted in a skip row
    for group in groups:
        first, last = group[0], group[-1]
        if first[1] > shown_to:
            rows.append(_skip(first[1] - shown_to))
        unified.append(_hunk_header(first[1], last[2], first[3], last[4]))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                    cell_html = _escape(a[i])
                    rows.append(Row("context", Cell(i + 1, cell_html), Cell(j + 1, cell_html)))
                    unified.append(_patch_line(" ", a[i]))
                continue
            removed += i2 - i1
            added += j2 - j1
            rows.extend(_replace_rows(a, b, i1, i2, j1, j2, budget))
            unified.extend(_patch_line("-", line) for line in a[i1:i2])
            unified.extend(_patch_line("+", line) for line in b[j1:j2])
        shown_to = last[2]
    if shown_to < len(a):
        rows.append(_skip(len(a) - shown_to))
    return Diff(rows=tuple(rows), added=added, removed=removed, unified="".join(unified))


# --- lines -----------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    """Split into lines that keep their "\\n"; only the last one may lack it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    last = lines.pop()
    result = [line + "\n" for line in lines]
    if last:
        result.append(last)
    return result


def _line_opcodes(a: list[str], b: list[str]) -> list[Opcode]:
    # Most edits touch a few lines of a long page: set the common start and end aside in
    # linear time, then split what is left at lines that occur once on each side (patience
    # diff). SequenceMatcher alone rescans the whole remaining range for every block it
    # finds, which is quadratic in the number of hunks: 20k lines with a few hundred edits
    # took seconds.
    lo, a_hi, b_hi = _trim(a, b)
    codes: list[Opcode] = [("equal", 0, lo, 0, lo)] if lo else []
    i, j = lo, lo
    for ai, bj in _anchors(a[lo:a_hi], b[lo:b_hi]):
        codes.extend(_match(a, b, i, lo + ai, j, lo + bj))
        codes.append(("equal", lo + ai, lo + ai + 1, lo + bj, lo + bj + 1))
        i, j = lo + ai + 1, lo + bj + 1
    codes.extend(_match(a, b, i, a_hi, j, b_hi))
    if a_hi < len(a):
        codes.append(("equal", a_hi, len(a), b_hi, len(b)))
    merged: list[Opcode] = []
    for code in codes:
        if merged and code[0] == merged[-1][0] == "equal":
            code = ("equal", merged[-1][1], code[2], merged[-1][3], code[4])
            merged[-1] = code
        else:
            merged.append(code)
    return merged


def _anchors(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """(i, j) of lines found once in a and once in b, the longest series in the same order."""
    once_a = _unique_positions(a)
    once_b = _unique_positions(b)
    candidates = sorted((i, once_b[line]) for line, i in once_a.items() if line in once_b)
    # Longest increasing subsequence of j by patience sorting.
    tails: list[int] = []  # smallest j ending a series of each length
    tail_at: list[int] = []  # index into candidates of that j
    previous = [-1] * len(candidates)
    for k, (_, j) in enumerate(candidates):
        pos = bisect.bisect_left(tails, j)
        if pos:
            previous[k] = tail_at[pos - 1]
        if pos == len(tails):
            tails.append(j)
            tail_at.append(k)
        else:
            tails[pos] = j
            tail_at[pos] = k
    series = []
    k = tail_at[-1] if tail_at else -1
    while k >= 0:
        series.append(candidates[k])
        k = previous[k]
    series.reverse()
    return series


def _unique_positions(lines: list[str]) -> dict[str, int]:
    position: dict[str, int] = {}
    for i, line in enumerate(lines):
        position[line] = -1 if line in position else i
    return {line: i for line, i in position.items() if i >= 0}


def _match(a: Sequence[str], b: Sequence[str], i1: int, i2: int, j1: int, j2: int) -> list[Opcode]:
    """Opcodes for a[i1:i2] against b[j1:j2], in the indices of a and b."""
    if i1 == i2 and j1 == j2:
        return []
    if i1 == i2:
        return [("insert", i1, i2, j1, j2)]
    if j1 == j2:
        return [("delete", i1, i2, j1, j2)]
    # autojunk stays on (it only acts on sequences of 200+ items): items that make up over 1%
    # of b (blank lines, code fences; spaces and "the" in a long paragraph) are not used as
    # anchors. Matches still extend across them, so results barely change, while
    # autojunk=False lets every search scan each of their thousands of positions.
    matcher = difflib.SequenceMatcher(None, a[i1:i2], b[j1:j2])
    return [
        (tag, x1 + i1, x2 + i1, y1 + j1, y2 + j1) for tag, x1, x2, y1, y2 in matcher.get_opcodes()
    ]


def _trim(a: Sequence[str], b: Sequence[str]) -> tuple[int, int, int]:
    """Length of the common prefix, and where the common suffix starts in a and in b."""
    shortest = min(len(a), len(b))
    lo = 0
    while lo < shortest and a[lo] == b[lo]:
        lo += 1
    a_hi, b_hi = len(a), len(b)
    while a_hi > lo and b_hi > lo and a[a_hi - 1] == b[b_hi - 1]:
        a_hi -= 1
        b_hi -= 1
    return lo, a_hi, b_hi


def _grouped(codes: list[Opcode], context: int) -> Iterator[list[Opcode]]:
    """Hunks with `context` lines around each change; SequenceMatcher.get_grouped_opcodes
    on opcodes we already have."""
    if all(tag == "equal" for tag, *_ in codes):
        return
    codes = list(codes)
    tag, i1, i2, j1, j2 = codes[0]
    if tag == "equal":
        codes[0] = (tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    tag, i1, i2, j1, j2 = codes[-1]
    if tag == "equal":
        codes[-1] = (tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            yield group
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group


def _hunk_header(i1: int, i2: int, j1: int, j2: int) -> str:
    return f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@\n"


def _range(start: int, stop: int) -> str:
    # Same convention as difflib.unified_diff: an empty range names the line before it.
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def _patch_line(prefix: str, line: str) -> str:
    if line.endswith("\n"):
        return prefix + line
    return f"{prefix}{line}\n\\ No newline at end of file\n"


def _skip(hidden: int) -> Row:
    mark = Cell(None, _SKIP_MARK)
    return Row("skip", mark, mark, hidden=hidden)


# --- pairing and words -----------------------------------------------------------------------


def _replace_rows(a: list[str], b: list[str], i1: int, i2: int, j1: int, j2: int,
                  budget: list[int]) -> list[Row]:
    if budget[0] < min(i2 - i1, j2 - j1):  # out of word comparisons: whole lines
        return [*(Row("del", Cell(k + 1, _escape(a[k])), None) for k in range(i1, i2)),
                *(Row("add", None, Cell(k + 1, _escape(b[k]))) for k in range(j1, j2))]
    old_tokens = [_tokens(line) for line in a[i1:i2]]
    new_tokens = [_tokens(line) for line in b[j1:j2]]
    pairs = _pair(old_tokens, new_tokens, budget)
    rows: list[Row] = []
    i = j = 0
    for pi, pj, codes in [*pairs, (len(old_tokens), len(new_tokens), None)]:
        rows.extend(Row("del", Cell(i1 + k + 1, _escape(a[i1 + k])), None) for k in range(i, pi))
        rows.extend(Row("add", None, Cell(j1 + k + 1, _escape(b[j1 + k]))) for k in range(j, pj))
        if codes is not None:
            old_html, new_html = _word_html(old_tokens[pi], new_tokens[pj], codes)
            rows.append(Row("change", Cell(i1 + pi + 1, old_html), Cell(j1 + pj + 1, new_html)))
        i, j = pi + 1, pj + 1
    return rows


def _pair(old: list[list[str]], new: list[list[str]], budget: list[int]
          ) -> list[tuple[int, int, list[Opcode]]]:
    """Pairs (old index, new index, word opcodes) of similar lines, in order.

    Small blocks get the order-preserving pairing with the greatest total similarity, so an
    inserted line between two edited ones does not shift every pair. Large blocks, and blocks
    whose every-pair comparison the diff's budget of word comparisons cannot pay for, are
    paired by position (the caller checked that the budget pays for that).
    """
    cost = len(new) * sum(map(len, old)) + len(old) * sum(map(len, new))
    if cost > _PAIRING_BUDGET or len(old) * len(new) > budget[0]:
        budget[0] -= min(len(old), len(new))
        pairs = []
        for k in range(min(len(old), len(new))):
            codes = _word_opcodes(old[k], new[k])
            if _similarity(old[k], new[k], codes) >= PAIR_CUTOFF:
                pairs.append((k, k, codes))
        return pairs

    n, m = len(old), len(new)
    budget[0] -= n * m
    sims: dict[tuple[int, int], tuple[float, list[Opcode]]] = {}
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n):
        for j in range(m):
            codes = _word_opcodes(old[i], new[j])
            sim = _similarity(old[i], new[j], codes)
            best = max(score[i][j + 1], score[i + 1][j])
            if sim >= PAIR_CUTOFF:
                sims[i, j] = (sim, codes)
                best = max(best, score[i][j] + sim)
            score[i + 1][j + 1] = best
    pairs = []
    i, j = n, m
    while i and j:
        hit = sims.get((i - 1, j - 1))
        if hit and score[i][j] == score[i - 1][j - 1] + hit[0]:
            pairs.append((i - 1, j - 1, hit[1]))
            i, j = i - 1, j - 1
        elif score[i][j] == score[i - 1][j]:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return pairs


def _tokens(line: str) -> list[str]:
    if line.endswith(_EOL):
        return [*_TOKEN.findall(line, 0, len(line) - 1), _EOL]
    return _TOKEN.findall(line)


def _word_opcodes(a: list[str], b: list[str]) -> list[Opcode]:
    lo, a_hi, b_hi = _trim(a, b)
    codes: list[Opcode] = [("equal", 0, lo, 0, lo)] if lo else []
    if max(a_hi, b_hi) - lo <= MAX_WORD_TOKENS:
        codes.extend(_match(a, b, lo, a_hi, lo, b_hi))
    elif lo < a_hi or lo < b_hi:
        codes.append(("replace", lo, a_hi, lo, b_hi))
    if a_hi < len(a):
        codes.append(("equal", a_hi, len(a), b_hi, len(b)))
    return codes


def _similarity(a: list[str], b: list[str], codes: list[Opcode]) -> float:
    """Share of characters left unchanged (2 * kept / total), newlines not counted."""
    kept = sum(_text_len(a[i1:i2]) for tag, i1, i2, _, _ in codes if tag == "equal")
    total = _text_len(a) + _text_len(b)
    return 1.0 if total == 0 else 2 * kept / total


def _text_len(tokens: Sequence[str]) -> int:
    return sum(len(t) for t in tokens if t != _EOL)


def _word_html(a: list[str], b: list[str], codes: list[Opcode]) -> tuple[str, str]:
    """Escaped old and new line with the changed words in <del> and <ins>."""
    changed = [tag != "equal" for tag, *_ in codes]
    old_parts: list[str] = []
    new_parts: list[str] = []
    k = 0
    while k < len(codes):
        end = k + 1
        while end < len(codes) and changed[end] == changed[k]:
            end += 1
        old_text = "".join(a[codes[k][1] : codes[end - 1][2]])
        new_text = "".join(b[codes[k][3] : codes[end - 1][4]])
        if changed[k]:
            old_fine = _FINE_TOKEN.findall(old_text)
            new_fine = _FINE_TOKEN.findall(new_text)
            lo, old_hi, new_hi = _trim(old_fine, new_fine)
            head = _plain("".join(old_fine[:lo]))
            old_tail = _plain("".join(old_fine[old_hi:]))
            new_tail = _plain("".join(new_fine[new_hi:]))
            old_parts.append(head + _marked("del", "".join(old_fine[lo:old_hi])) + old_tail)
            new_parts.append(head + _marked("ins", "".join(new_fine[lo:new_hi])) + new_tail)
        else:
            old_parts.append(_plain(old_text))
            new_parts.append(_plain(new_text))
        k = end
    return "".join(old_parts), "".join(new_parts)


def _marked(tag: str, text: str) -> str:
    if not text:
        return ""
    return f"<{tag}>{html.escape(text, quote=True).replace(_EOL, _EOL_MARK)}</{tag}>"


def _escape(line: str) -> str:
    return html.escape(line.removesuffix(_EOL), quote=True)


def _plain(text: str) -> str:
    return html.escape(text.replace(_EOL, ""), quote=True)


# --- HTML ------------------------------------------------------------------------------------


def _skip_text(row: Row) -> str:
    return f"{_SKIP_MARK} {row.hidden}"


def _num(cell: Cell | None) -> str:
    number = cell.number if cell and cell.number is not None else ""
    return f'<td class="num">{number}</td>'


def _inline_tr(kind: str, old: Cell | None, new: Cell | None, text: Cell | None) -> str:
    body = text.html if text else ""
    return f'<tr class="{kind}">{_num(old)}{_num(new)}<td class="line">{body}</td></tr>'


def _side_tds(cell: Cell | None, css: str) -> str:
    if cell is None:
        return '<td class="num"></td><td class="line empty"></td>'
    return f'{_num(cell)}<td class="{css}">{cell.html}</td>'
