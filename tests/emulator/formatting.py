"""Telegram's text formatting, as the Bot API server applies it to outgoing text.

Parse modes turn marked-up text into plain text plus ``MessageEntity`` dicts whose offsets are
counted in UTF-16 code units. The error texts follow TDLib's, because bots branch on them (a
common pattern is "retry as plain text when the reply says *can't parse entities*").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Entity = dict[str, Any]

# TDLib trims only ASCII whitespace: a leading ideographic space (U+3000) in Chinese text survives.
_TRIM = " \t\n\r\v\f"
# What TDLib's is_space() accepts; the empty string stands for the end of the text, like its NUL.
_HTML_SPACE = frozenset(" \t\r\n\v\f")

# TDLib's entity type priorities, used to order entities that share offset and length.
_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "mention": 50,
    "hashtag": 50,
    "cashtag": 50,
    "bot_command": 50,
    "url": 50,
    "email": 50,
    "phone_number": 50,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}


class EntityParseError(ValueError):
    """The marked-up text is malformed; ``str(err)`` is the text after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def sort_entities(entities: list[Entity]) -> list[Entity]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"], _PRIORITY.get(e["type"], 50)))


def parse(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Apply a Bot API ``parse_mode`` (case-insensitive, as the server reads it)."""
    mode = (parse_mode or "").lower()
    if mode == "":
        return text, []
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise ValueError(f"unsupported parse_mode {parse_mode!r}")


def normalize_url(url: str) -> str | None:
    """A cut-down TDLib check_url: None when Telegram would drop the link."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(//)?", url)
    if match:
        scheme = match.group(1).lower()
        if scheme in ("http", "https", "ftp") and match.group(2):
            rest = url[match.end() :]
            host = re.split(r"[/?#]", rest, maxsplit=1)[0]
            if not host:
                return None
            return f"{scheme}://{rest}" if rest != host else f"{scheme}://{host}/"
        if scheme in ("tg", "ton", "mailto", "tel"):
            return url
        return None
    host = re.split(r"[/?#]", url, maxsplit=1)[0]
    if "." not in host.strip(".") or not re.fullmatch(r"[\w.-]+(:\d+)?", host):
        return None
    return f"http://{url}" if url != host else f"http://{host}/"


# --- HTML -------------------------------------------------------------------------------------

_HTML_TAGS = frozenset(
    "a b strong i em s strike del u ins pre code span tg-spoiler tg-emoji blockquote".split()
)
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
}


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    out_index: int  # position in the output chunk list, to recover the inner text of <a>


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """TDLib's decode_html_entity: only &lt; &gt; &amp; &quot; and numeric references, ';' optional."""
    end = pos + 1
    code = 0
    if text.startswith("&#", pos):
        end += 1
        if text.startswith("x", end):
            end += 1
            start = end
            while end < len(text) and text[end] in "0123456789abcdefABCDEF":
                end += 1
            code = int(text[start:end], 16) if end > start else 0
        else:
            start = end
            while end < len(text) and text[end].isascii() and text[end].isdigit():
                end += 1
            code = int(text[start:end]) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(code)
    else:
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        char = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(text[pos + 1 : end], "")
        if not char:
            return None
    if text.startswith(";", end):
        end += 1
    return char, end


def parse_html(text: str) -> tuple[str, list[Entity]]:
    out: list[str] = []
    utf16 = 0
    entities: list[Entity] = []
    stack: list[_OpenTag] = []
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else ""

    def space(ch: str) -> bool:
        return ch == "" or ch in _HTML_SPACE

    def err(message: str) -> EntityParseError:
        return EntityParseError(message)

    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                utf16 += utf16_len(decoded[0])
                i = decoded[1]
                continue
        if c != "<":
            out.append(c)
            utf16 += utf16_len(c)
            i += 1
            continue

        begin = i
        begin_byte = _byte_offset(text, begin)
        i += 1
        if at(i) != "/":
            while not space(at(i)) and at(i) != ">":
                i += 1
            if at(i) == "":
                raise err(f"Unclosed start tag at byte offset {begin_byte}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise err(f'Unsupported start tag "{tag}" at byte offset {begin_byte}')
            argument = ""
            while at(i) != ">":
                while at(i) != "" and space(at(i)):
                    i += 1
                if at(i) == ">":
                    break
                if at(i) == "":
                    raise err(f"Unclosed start tag at byte offset {begin_byte}")
                attr_begin = i
                while not space(at(i)) and at(i) not in ("=", ">"):
                    i += 1
                attr = text[attr_begin:i].lower()
                if not attr:
                    raise err(f'Empty attribute name in the tag "{tag}" at byte offset {begin_byte}')
                while at(i) != "" and space(at(i)):
                    i += 1
                if at(i) != "=":
                    # Valueless attributes are accepted; only <blockquote expandable> means anything.
                    if tag == "blockquote" and attr == "expandable":
                        argument = "expandable"
                    continue
                i += 1
                while at(i) != "" and space(at(i)):
                    i += 1
                if at(i) == "":
                    raise err(f'Unclosed start tag "{tag}" at byte offset {begin_byte}')
                if at(i) not in ("'", '"'):
                    token_begin = i
                    while at(i) != "" and at(i).isascii() and (at(i).isalnum() or at(i) in ".-"):
                        i += 1
                    value = text[token_begin:i].lower()
                    if not space(at(i)) and at(i) != ">":
                        raise err(
                            f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                        )
                else:
                    quote = at(i)
                    i += 1
                    chars: list[str] = []
                    while at(i) not in ("", quote):
                        if at(i) == "&":
                            decoded = _decode_html_entity(text, i)
                            if decoded is not None:
                                chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        chars.append(at(i))
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(chars)
                if at(i) == "":
                    raise err(f"Unclosed start tag at byte offset {begin_byte}")
                if tag == "a" and attr == "href":
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attr == "class" and value.startswith("tg-spoiler"):
                    argument = value
                elif tag == "tg-emoji" and attr == "emoji-id":
                    argument = value
                elif tag == "blockquote" and attr == "expandable":
                    argument = "expandable"
            if tag == "span" and not argument.startswith("tg-spoiler"):
                raise err(f'Tag "span" must have class "tg-spoiler" at byte offset {begin_byte}')
            stack.append(_OpenTag(tag, argument, utf16, len(out)))
            i += 1  # past '>'
            continue

        # An end tag.
        if not stack:
            raise err(f"Unexpected end tag at byte offset {begin_byte}")
        while not space(at(i)) and at(i) != ">":
            i += 1
        end_name = text[begin + 2 : i].lower()
        while at(i) != "" and space(at(i)):
            i += 1
        if at(i) != ">":
            raise err(f"Unclosed end tag at byte offset {begin_byte}")
        i += 1
        open_tag = stack.pop()
        if end_name and end_name != open_tag.name:
            raise err(
                f'Unmatched end tag at byte offset {begin_byte}, expected "</{open_tag.name}>", '
                f'found "</{end_name}>"'
            )
        length = utf16 - open_tag.utf16_offset
        if length > 0:
            _close_html_entity(entities, open_tag, length, "".join(out[open_tag.out_index :]))

    if stack:
        raise err(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    result = "".join(out)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in result):
        raise err(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return result, sort_entities(entities)


def _close_html_entity(entities: list[Entity], tag: _OpenTag, length: int, inner_text: str) -> None:
    offset = tag.utf16_offset
    if tag.name in _SIMPLE_TAGS:
        entities.append({"type": _SIMPLE_TAGS[tag.name], "offset": offset, "length": length})
    elif tag.name == "a":
        url = normalize_url(tag.argument or inner_text)
        if url is not None:
            entities.append({"type": "text_link", "offset": offset, "length": length, "url": url})
    elif tag.name == "tg-emoji":
        if tag.argument.isdigit():
            entities.append(
                {"type": "custom_emoji", "offset": offset, "length": length, "custom_emoji_id": tag.argument}
            )
    elif tag.name == "blockquote":
        kind = "expandable_blockquote" if tag.argument == "expandable" else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})
    elif tag.name == "pre":
        # <pre><code class="language-x"> (in either nesting order) becomes one pre with a language.
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and (last["offset"], last["length"]) == (offset, length)
            and last.get("language")
        ):
            last["type"] = "pre"
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif tag.name == "code":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "pre"
            and (last["offset"], last["length"]) == (offset, length)
            and tag.argument
        ):
            last["language"] = tag.argument
        else:
            entity: Entity = {"type": "code", "offset": offset, "length": length}
            if tag.argument:
                entity["language"] = tag.argument
            entities.append(entity)


# --- MarkdownV2 ---------------------------------------------------------------------------------

_MD2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD2_NAMES = {
    "italic": "Italic",
    "bold": "Bold",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "pre_code": "PreCode",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _OpenMd:
    kind: str
    begin_byte: int
    utf16_offset: int
    language: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    out: list[str] = []
    utf16 = 0
    entities: list[Entity] = []
    stack: list[_OpenMd] = []
    quote_start: int | None = None  # utf16 offset where the current '>' blockquote began
    n = len(text)
    i = 0

    def emit(chunk: str) -> None:
        nonlocal utf16
        out.append(chunk)
        utf16 += utf16_len(chunk)

    def close_quote() -> None:
        nonlocal quote_start
        # The newline that ends the last quoted line belongs to the text after the quote.
        end = utf16 - 1 if out and out[-1] == "\n" else utf16
        if quote_start is not None and end > quote_start:
            entities.append({"type": "blockquote", "offset": quote_start, "length": end - quote_start})
        quote_start = None

    def end_of(kind_open: _OpenMd) -> EntityParseError:
        name = _MD2_NAMES[kind_open.kind]
        return EntityParseError(f"Can't find end of {name} entity at byte offset {kind_open.begin_byte}")

    while i < n:
        c = text[i]
        line_start = i == 0 or text[i - 1] == "\n"
        if line_start and quote_start is not None and c != ">":
            # A quote ends with its last '>' line; entities may not run past it.
            if stack:
                raise end_of(stack[-1])
            close_quote()
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) < 127:
            emit(text[i + 1])
            i += 2
            continue
        top = stack[-1] if stack else None
        in_code = top is not None and top.kind in ("code", "pre", "pre_code")

        if top is not None and _md2_closes(top.kind, text, i):
            stack.pop()
            i += {"underline": 2, "spoiler": 2, "pre": 3, "pre_code": 3}.get(top.kind, 1)
            length = utf16 - top.utf16_offset
            if top.kind == "text_link":
                i = _md2_link_target(text, i, top, length, entities)
                continue
            if top.kind == "custom_emoji":
                i = _md2_emoji_target(text, i, top, length, entities)
                continue
            if length > 0:
                kind = "pre" if top.kind == "pre_code" else top.kind
                entity: Entity = {"type": kind, "offset": top.utf16_offset, "length": length}
                if top.kind == "pre_code":
                    entity["language"] = top.language
                entities.append(entity)
            continue

        if in_code and c != "`":
            emit(c)
            i += 1
            continue

        begin_byte = _byte_offset(text, i)
        if c == ">" and line_start:
            if quote_start is None:
                quote_start = utf16
            i += 1
            continue
        if c == "_":
            kind = "underline" if text.startswith("__", i) else "italic"
            stack.append(_OpenMd(kind, begin_byte, utf16))
            i += 2 if kind == "underline" else 1
        elif c == "*":
            stack.append(_OpenMd("bold", begin_byte, utf16))
            i += 1
        elif c == "~":
            stack.append(_OpenMd("strikethrough", begin_byte, utf16))
            i += 1
        elif c == "|" and text.startswith("||", i):
            stack.append(_OpenMd("spoiler", begin_byte, utf16))
            i += 2
        elif c == "[":
            stack.append(_OpenMd("text_link", begin_byte, utf16))
            i += 1
        elif c == "!" and text.startswith("![", i):
            stack.append(_OpenMd("custom_emoji", begin_byte, utf16))
            i += 2
        elif c == "`" and text.startswith("```", i):
            i += 3
            lang_begin = i
            while i < n and text[i] not in " \t\r\n`":
                i += 1
            language = text[lang_begin:i]
            if i < n and text[i] in " \t\r\n" and language:
                if text[i] == "\n":
                    i += 1
                stack.append(_OpenMd("pre_code", begin_byte, utf16, language=language))
            else:
                i = lang_begin
                if text.startswith("\n", i):
                    i += 1
                stack.append(_OpenMd("pre", begin_byte, utf16))
        elif c == "`":
            stack.append(_OpenMd("code", begin_byte, utf16))
            i += 1
        elif c in _MD2_RESERVED:
            raise EntityParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        else:
            emit(c)
            i += 1

    if stack:
        raise end_of(stack[-1])
    close_quote()
    return "".join(out), sort_entities(entities)


def _md2_closes(kind: str, text: str, i: int) -> bool:
    c = text[i]
    if kind == "italic":
        return c == "_" and not text.startswith("__", i)
    if kind == "underline":
        return text.startswith("__", i)
    if kind == "bold":
        return c == "*"
    if kind == "strikethrough":
        return c == "~"
    if kind == "spoiler":
        return text.startswith("||", i)
    if kind in ("text_link", "custom_emoji"):
        return c == "]"
    if kind == "code":
        return c == "`"
    return text.startswith("```", i)


def _md2_read_parenthesized(text: str, i: int) -> tuple[str, int] | None:
    """Read '(...)' with backslash escapes starting at text[i] == '('; None if it never closes."""
    chars: list[str] = []
    j = i + 1
    while j < len(text) and text[j] != ")":
        if text[j] == "\\" and j + 1 < len(text):
            j += 1
        chars.append(text[j])
        j += 1
    if j >= len(text):
        return None
    return "".join(chars), j + 1


def _md2_link_target(text: str, i: int, open_md: _OpenMd, length: int, entities: list[Entity]) -> int:
    if text.startswith("(", i):
        read = _md2_read_parenthesized(text, i)
        if read is None:
            raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, i + 1)}")
        url, i = read
    else:
        url = ""
    if length > 0:
        normalized = normalize_url(url) if url else None
        if normalized is not None:
            entities.append(
                {"type": "text_link", "offset": open_md.utf16_offset, "length": length, "url": normalized}
            )
    return i


def _md2_emoji_target(text: str, i: int, open_md: _OpenMd, length: int, entities: list[Entity]) -> int:
    if not text.startswith("(", i):
        raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
    read = _md2_read_parenthesized(text, i)
    if read is None:
        raise EntityParseError(
            f"Can't find end of a custom emoji URL at byte offset {_byte_offset(text, i + 1)}"
        )
    url, i = read
    match = re.fullmatch(r"tg://emoji\?(?:.*&)?id=([1-9]\d*)(?:&.*)?", url)
    if match is None:
        raise EntityParseError("Custom emoji URL must have an emoji identifier")
    if length > 0:
        entities.append(
            {
                "type": "custom_emoji",
                "offset": open_md.utf16_offset,
                "length": length,
                "custom_emoji_id": match.group(1),
            }
        )
    return i


# --- legacy Markdown ----------------------------------------------------------------------------

_MD1_KINDS = {"*": "bold", "_": "italic", "`": "code"}


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Legacy 'Markdown': no nesting, and only the entity's own delimiter needs escaping inside it."""
    out: list[str] = []
    utf16 = 0
    entities: list[Entity] = []
    n = len(text)
    i = 0

    def emit(chunk: str) -> None:
        nonlocal utf16
        out.append(chunk)
        utf16 += utf16_len(chunk)

    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            emit(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            emit(c)
            i += 1
            continue
        begin_byte = _byte_offset(text, i)
        start = utf16
        if c == "`" and text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin_byte}")
            body = text[i + 3 : end]
            language = ""
            first_line, sep, rest = body.partition("\n")
            if sep and first_line and " " not in first_line:
                language, body = first_line, rest
            emit(body)
            entity: Entity = {"type": "pre", "offset": start, "length": utf16 - start}
            if language:
                entity["language"] = language
            if entity["length"] > 0:
                entities.append(entity)
            i = end + 3
            continue
        if c == "[":
            close = text.find("]", i + 1)
            if close < 0:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin_byte}")
            label = text[i + 1 : close]
            url = ""
            i = close + 1
            if text.startswith("(", i):
                end = text.find(")", i)
                if end < 0:
                    raise EntityParseError(
                        f"Can't find end of the entity starting at byte offset {begin_byte}"
                    )
                url = text[i + 1 : end]
                i = end + 1
            emit(label)
            normalized = normalize_url(url) if url else None
            if normalized and utf16 > start:
                entities.append(
                    {"type": "text_link", "offset": start, "length": utf16 - start, "url": normalized}
                )
            continue
        end = text.find(c, i + 1)
        if end < 0:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin_byte}")
        emit(text[i + 1 : end])
        if utf16 > start:
            entities.append({"type": _MD1_KINDS[c], "offset": start, "length": utf16 - start})
        i = end + 1
    return "".join(out), sort_entities(entities)


# --- what the server does to every text -----------------------------------------------------------


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip leading/trailing whitespace and move entities with it, as Telegram stores messages.

    This is why editing "done" into "done\\n" fails with "message is not modified".
    """
    stripped_left = text.lstrip(_TRIM)
    result = stripped_left.rstrip(_TRIM)
    shift = utf16_len(text) - utf16_len(stripped_left)
    total = utf16_len(result)
    fixed: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return result, fixed


# ASCII-only, so "详见https://x.cn/a。" yields just the link, as in Telegram.
_AUTO_PATTERNS = (
    (
        "bot_command",
        re.compile(r"(?<![A-Za-z0-9_/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_/])"),
    ),
    (
        "url",
        re.compile(
            r"(?<![A-Za-z0-9_@.])(?:https?://|www\.)[\w\-.~:/?#\[\]@!$&()*+,;=%]*[\w\-~/#=&%+]", re.ASCII
        ),
    ),
    ("mention", re.compile(r"(?<![A-Za-z0-9_@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![A-Za-z0-9_])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
)


def detect_entities(text: str, entities: list[Entity]) -> list[Entity]:
    """Add the entities Telegram finds by itself (commands, links, mentions, hashtags)."""
    blocked = [
        (e["offset"], e["offset"] + e["length"])
        for e in entities
        if e["type"] in ("code", "pre", "text_link")
    ]
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(match.group(0))
            if any(start < b_end and b_start < end for b_start, b_end in blocked + taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    return sort_entities([*entities, *found])
