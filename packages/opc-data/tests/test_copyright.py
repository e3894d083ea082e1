"""Copyright/licence notices go from leading comment blocks only; code and other comments stay."""

from __future__ import annotations

from opc_data.copyright import remove_copyright

APACHE_JAVA = """/*
 * Copyright (C) 2008 Google Inc.
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 */

package com.google.gson;

/** Copyright holder of this class is documented elsewhere. */
public final class Gson {}
"""


def test_apache_header_block_is_removed_and_code_kept():
    out, n = remove_copyright(APACHE_JAVA, "java")
    assert n == 6
    assert out.startswith("package com.google.gson;")
    assert "/** Copyright holder of this class is documented elsewhere. */" in out  # not leading: kept


def test_python_hash_header_keeps_shebang_coding_and_module_comment():
    src = (
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n# Copyright 2020 Jane Doe\n"
        "# SPDX-License-Identifier: MIT\n#\n# URL helpers for the client.\nimport re\n"
        "x = 'Copyright (c) 2020 stays, it is code'\n"
    )
    out, n = remove_copyright(src, "python")
    assert out == (
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n# URL helpers for the client.\nimport re\n"
        "x = 'Copyright (c) 2020 stays, it is code'\n"
    )
    assert n == 3


def test_mixed_block_comment_keeps_the_description_paragraph():
    src = "/*\n * Copyright (c) 2009-2017 Dave Gamble\n *\n * cJSON: a tiny JSON parser.\n */\n#include <stdio.h>\n"
    out, _ = remove_copyright(src, "c")
    assert "Dave Gamble" not in out
    assert "cJSON: a tiny JSON parser." in out
    assert out.rstrip().endswith("#include <stdio.h>")
    assert out.startswith("/*") and " */" in out


def test_file_without_notice_and_unknown_language_are_unchanged():
    src = "// Helpers.\nint main(void) { return 0; }\n"
    assert remove_copyright(src, "c") == (src, 0)
    lic = "# Copyright 2020 Jane Doe\nfoo: bar\n"
    assert remove_copyright(lic, "some-unknown-language") == (lic, 0)


def test_c_preprocessor_hash_is_not_a_comment():
    src = "#include <stdio.h>\n// Copyright 2020 Jane Doe\nint x;\n"
    assert remove_copyright(src, "c") == (src, 0)


def test_notice_after_code_is_not_touched():
    src = "package main\n\n// Copyright 2020 The Go Authors.\nfunc main() {}\n"
    assert remove_copyright(src, "go") == (src, 0)


def test_go_build_constraint_after_licence_survives():
    src = "// Copyright 2009 The Go Authors. All rights reserved.\n// license that can be found in the LICENSE file.\n\n//go:build linux\n\npackage unix\n"
    out, n = remove_copyright(src, "go")
    assert n == 2
    assert out == "//go:build linux\n\npackage unix\n"


def test_dev_corpus_licence_heavy_sources_lose_their_headers(shared_dir):
    import gzip
    import json

    seen = stripped = 0
    with gzip.open(shared_dir / "data/raw_code/dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if (r["repo_name"] == "google/gson" and r["path"].endswith(".java")
                    and r["content"].lstrip().startswith("/*") and "Copyright" in r["content"][:300]):
                seen += 1
                out, n = remove_copyright(r["content"], "java")
                if n:
                    stripped += 1
                    assert "Licensed under the Apache License" not in out[:2000]
                    assert ("class " in out or "interface " in out or "enum " in out or "@" in out
                            or "package" in out)
    assert seen > 50 and stripped == seen


def test_comment_that_only_mentions_license_or_warranty_is_kept():
    for src, lang in [("# Detect the license of a Python distribution.\nimport email\n", "python"),
                      ("// Warranty claim REST controller.\npackage a.b;\n", "java"),
                      ("/**\n * Returns the user's license key, if any.\n */\nfunction key() {}\n", "javascript")]:
        assert remove_copyright(src, lang) == (src, 0)


def test_description_line_in_the_notice_paragraph_is_kept():
    src = ("#!/bin/sh\n# backup-rotate - rotate tarball backups\n# Copyright (C) 2019 Jane Doe\n#\n"
           "# This program is free software; you can redistribute it and/or modify\n"
           "# it under the terms of the GNU General Public License.\n\nset -e\n")
    out, _ = remove_copyright(src, "shell")
    assert out == "#!/bin/sh\n# backup-rotate - rotate tarball backups\n\nset -e\n"


def test_blank_line_after_a_go_build_tag_survives_a_following_notice():
    src = "// +build linux\n\n// Copyright 2020 X. All rights reserved.\n\npackage netx\n"
    assert remove_copyright(src, "go")[0] == "// +build linux\n\npackage netx\n"
    src = "//go:build linux\n// Copyright 2020 X. All rights reserved.\n\npackage netx\n"
    assert remove_copyright(src, "go")[0] == "//go:build linux\n\npackage netx\n"


def test_tool_comment_lines_inside_a_notice_block_are_never_removed():
    src = "# Copyright 2020 X\n# -*- coding: latin-1 -*-\nx = 1\n"
    assert remove_copyright(src, "python")[0] == "# -*- coding: latin-1 -*-\nx = 1\n"
    src = "// Code generated by protoc-gen-go. DO NOT EDIT.\n// Copyright 2020 X. All rights reserved.\n\npackage pb\n"
    assert remove_copyright(src, "go")[0] == "// Code generated by protoc-gen-go. DO NOT EDIT.\n\npackage pb\n"
