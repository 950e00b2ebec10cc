"""Writes docs/flags.md, the tables of train.py's, generate.py's and evaluate.py's
flags, from the fields that declare them.

    python scripts/write_flags_doc.py

tests/test_flags.py fails when the page and the fields disagree.
"""

import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from dcgan_tf import config, config_flags, settings, tool_settings  # noqa: E402

HEADER = """# train.py flags

Every flag is a field of `dcgan_tf.config.Config`, with this text as its help
(`python train.py --help` prints the same). Unset flags take the value of
`--preset` (`colour` by default with `--dataset=folder`, else `dcgan`; the others where they
differ are in brackets):

{presets}

Two flags are train.py's own: `--preset` (one of {names}) and `--overwrite`
(discard the run already in `--workdir` and start from step 0).

"""

TOOLS = """
# generate.py flags

From `dcgan_tf.tool_settings.SamplingConfig` (`python generate.py --help`):

{generate}
# evaluate.py flags

From `dcgan_tf.tool_settings.EvalConfig` (`python evaluate.py --help`):

{evaluate}"""


def tools_markdown():
    """The generate.py and evaluate.py sections of docs/flags.md."""
    return TOOLS.format(
        generate=settings.markdown_table(tool_settings.SamplingConfig, ("model", "out")),
        evaluate=settings.markdown_table(tool_settings.EvalConfig))


def main():
    presets = "\n".join(f"- `{name}`: {source}" for name, source in
                        config.PRESET_SOURCES.items())
    text = HEADER.format(presets=presets, names=", ".join(config.PRESETS))
    path = os.path.join(REPO, "docs", "flags.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + config_flags.flags_markdown() + tools_markdown())
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
