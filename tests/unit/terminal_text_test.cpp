#include "base/terminal_text.h"

#include <catch2/catch.hpp>

using sandboxd::Newlines;
using sandboxd::terminal_safe;

TEST_CASE("terminal_safe: escape sequences, forged rows and invisible overrides are shown, not obeyed") {
    // Retitle the window, then paint red: every control byte escaped.
    CHECK(terminal_safe("evil\x1b]0;PWNED\x07\x1b[31mred") == "evil\\x1b]0;PWNED\\x07\\x1b[31mred");
    // A newline would forge a table row; a carriage return would overwrite one.
    CHECK(terminal_safe("a\nb\rc\td\x7f") == "a\\x0ab\\x0dc\\x09d\\x7f");
    CHECK(terminal_safe("line one\nline two", Newlines::Indent) == "line one\n  line two");
    // U+009B is CSI on some terminals; U+202E shows "txt.exe" as "exe.txt".
    CHECK(terminal_safe("\xc2\x9b" "2J") == "\\u{009b}2J");
    CHECK(terminal_safe("report\xe2\x80\xaetxt.sh") == "report\\u{202e}txt.sh");
    CHECK(terminal_safe("\xe2\x81\xa6x\xe2\x81\xa9") == "\\u{2066}x\\u{2069}");
    // Bytes that are not UTF-8: stray, overlong, surrogate, cut off.
    CHECK(terminal_safe("\xff\xfe") == "\\xff\\xfe");
    CHECK(terminal_safe("\xc0\xaf") == "\\xc0\\xaf");
    CHECK(terminal_safe("\xed\xa0\x80") == "\\xed\\xa0\\x80");
    CHECK(terminal_safe("ab\xe2\x82") == "ab\\xe2\\x82");
    // A backslash doubled: the escapes above cannot be forged by a name.
    CHECK(terminal_safe("a\\x1b") == "a\\\\x1b");
    // Everything else as it is.
    CHECK(terminal_safe("/home/ana/r\xc3\xa9sum\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80.txt") ==
          "/home/ana/r\xc3\xa9sum\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80.txt");
    CHECK(terminal_safe("") == "");
}
