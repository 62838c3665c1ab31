// Text the agent chose (file names, thread names, commands), made safe to
// print on an administrator's terminal. A name may hold escape sequences
// (retitle the window, rewrite lines already shown, on some terminals set
// the clipboard), a newline that forges a row of a table, or bidirectional
// overrides that show one path as another. Each of those, every other
// control character and every byte that is not UTF-8 is printed as an
// escape (\x1b, \u{202e}) instead; a backslash is doubled, so the text
// reads back unambiguously.
#pragma once

#include <string>
#include <string_view>

namespace sandboxd {

enum class Newlines { Escape, Keep };

std::string terminal_safe(std::string_view text, Newlines newlines = Newlines::Escape);

}  // namespace sandboxd
