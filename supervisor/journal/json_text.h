// JSON text for journal lines, written directly: a line is built for every
// action the agent takes, and going through a JSON object (a map of keys,
// copies of nested records) cost more than the action itself.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace sandboxd {

// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s);

// Appends `s` as a JSON string, quoted and escaped. Bytes that are not
// well-formed UTF-8 become U+FFFD: paths are the agent's to choose, and a
// line must stay valid JSON whatever they hold.
// Characters a terminal would act on (controls, DEL, the C1 controls, the
// bidirectional ones, U+2028/9) are written as \uXXXX: the same string to
// a JSON reader, inert on a screen.
void append_json_string(std::string& out, std::string_view s);

// A journal line as `sandboxctl log --json` prints it: those characters
// escaped the same way wherever they are (in a line written before they
// were, or tampered with), bytes that are not UTF-8 as U+FFFD. A valid
// JSON line stays valid and means the same; structure is ASCII.
std::string terminal_safe_json_line(std::string_view line);

// Undo records must name paths exactly, and a file name is any bytes but
// '/' and NUL. Appends `record` as JSON text in which a string that is not
// UTF-8 is written as {"hex": "<its bytes in hex>"}; text_value() reads
// either form back. (Display fields, like a line's target, and object keys,
// which are sandboxd's own, just get U+FFFD.) Written straight from the
// record: no copy of it is made, and most lines have only a few numbers.
void append_exact_json(std::string& out, const nlohmann::json& record);
std::string text_value(const nlohmann::json& v);  // "" for anything else

// One key of a journal line (or of its detail) read without trusting its
// type: a journal is a file that can be damaged or tampered with, and
// nlohmann's value() throws when a key holds another type than asked for.
// text_at: the key's text (either form above), "" for anything else or a
// missing key. integer_at: a whole number that fits in int64, else nullopt.
std::string text_at(const nlohmann::json& record, const char* key);
std::optional<int64_t> integer_at(const nlohmann::json& record, const char* key);

}  // namespace sandboxd
