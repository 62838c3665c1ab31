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

// Indent: newlines kept, each line after one indented by two spaces, so
// that a message of several lines stays readable and no line of it, the
// agent's text included, starts where a line of the tool's own would
// ("sandboxctl: ...").
enum class Newlines { Escape, Indent };

std::string terminal_safe(std::string_view text, Newlines newlines = Newlines::Escape);

}  // namespace sandboxd
