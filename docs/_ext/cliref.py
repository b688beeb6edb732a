"""A Sphinx directive that renders the ``springpython`` command's reference from
its argparse parser, so the page can never disagree with ``--help``.

Usage in a page::

    .. springpython-command::

It emits, for the command and then for each subcommand, a section with the
description, the usage line and a table of arguments and options."""

from __future__ import annotations

import argparse
import functools
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

WIDTH = 88


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of every subcommand, in definition order."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, sub in action.choices.items():
                found.append((name, helps.get(name, ""), sub))
    return found


def _usage(parser: argparse.ArgumentParser) -> str:
    parser.formatter_class = functools.partial(argparse.HelpFormatter, width=WIDTH)  # type: ignore[assignment]
    return parser.format_usage().strip()


def _invocation(action: argparse.Action) -> str:
    if action.option_strings:
        if action.nargs == 0:
            return ", ".join(action.option_strings)
        metavar = action.metavar or action.dest.upper()
        if action.choices and not action.metavar:
            metavar = "{" + ",".join(map(str, action.choices)) + "}"
        return ", ".join(f"{opt} {metavar}" for opt in action.option_strings)
    return str(action.metavar or action.dest)


def _help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if "%(" in text:
        text = text % {"prog": prog, "default": action.default}
    return text


def _argument_rows(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
            continue
        help_text = _help(action, parser.prog)
        if isinstance(action, argparse._HelpAction):
            help_text = "show the help and exit"
        elif isinstance(action, argparse._VersionAction):
            help_text = "print the version and exit"
        elif action.nargs in ("*", "+"):
            help_text = (help_text + "; " if help_text else "") + (
                "one or more" if action.nargs == "+" else "zero or more"
            )
        default = action.default
        if (action.option_strings and action.nargs != 0 and default not in (None, [], argparse.SUPPRESS)
                and "default" not in help_text):
            help_text += f" (default: {default})"
        if isinstance(action, argparse._AppendAction):
            help_text += " (may be repeated)" if "repeatable" not in help_text else ""
        rows.append((_invocation(action), help_text))
    return rows


def _table(rows: list[tuple[str, str]]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 35 65", "", "   * - argument", "     - meaning"]
    for invocation, text in rows:
        lines.append(f"   * - ``{invocation}``")
        lines.append(f"     - {_escape(text) or ' '}")
    return lines


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`").replace("|", "\\|")


def _literal(text: str) -> list[str]:
    return ["::", ""] + ["   " + line for line in text.splitlines()] + [""]


def render(parser: argparse.ArgumentParser, underline: str = "-") -> list[str]:
    """The reStructuredText of the whole reference for ``parser``."""
    lines: list[str] = []
    lines += [_escape(parser.description or ""), ""]
    lines += _literal(_usage(parser))
    lines += _table(_argument_rows(parser)) + [""]
    subs = _subcommands(parser)
    if subs:
        lines += [".. list-table::", "   :header-rows: 1", "   :widths: 20 80", "",
                  "   * - command", "     - what it does"]
        for name, help_text, _ in subs:
            lines += [f"   * - :ref:`{parser.prog} {name} <cli-{name}>`", f"     - {_escape(help_text)}"]
        lines.append("")
    for name, help_text, sub in subs:
        title = f"{parser.prog} {name}"
        lines += [f".. _cli-{name}:", "", title, underline * len(title), ""]
        lines += [_escape(sub.description or help_text), ""]
        lines += _literal(_usage(sub))
        lines += _table(_argument_rows(sub)) + [""]
    return lines


class CommandReference(SphinxDirective):
    """``.. springpython-command::`` — the generated reference of the command."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        from springpython.cli import build_parser

        source = self.get_source_info()[0] or "<springpython-command>"
        content = StringList()
        for number, line in enumerate(render(build_parser(), underline="~")):
            content.append(line, source, number)
        holder = nodes.Element()
        holder.document = self.state.document
        nested_parse_with_titles(self.state, content, holder)
        return holder.children


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("springpython-command", CommandReference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
