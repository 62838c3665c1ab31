#include "journal/json_text.h"

#include <cstdint>

namespace sandboxd {
namespace {

// The length of the well-formed UTF-8 sequence starting at s[i], or 0.
size_t sequence_at(std::string_view s, size_t i) {
    auto byte = [&](size_t k) { return k < s.size() ? uint8_t(s[k]) : 0; };
    auto cont = [&](size_t k) { return (byte(k) & 0xC0) == 0x80; };
    uint8_t b = byte(i);
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return cont(i + 1) ? 2 : 0;
    if (b >= 0xE0 && b <= 0xEF) {
        uint8_t b1 = byte(i + 1);
        uint8_t lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;  // overlong; surrogates
        return b1 >= lo && b1 <= hi && cont(i + 2) ? 3 : 0;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        uint8_t b1 = byte(i + 1);
        uint8_t lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;  // overlong; above U+10FFFF
        return b1 >= lo && b1 <= hi && cont(i + 2) && cont(i + 3) ? 4 : 0;
    }
    return 0;
}

// The code point of the well-formed sequence of `n` bytes at s[i].
uint32_t code_point(std::string_view s, size_t i, size_t n) {
    auto b = [&](size_t k) { return uint32_t(uint8_t(s[i + k])); };
    if (n == 2) return (b(0) & 0x1F) << 6 | (b(1) & 0x3F);
    if (n == 3) return (b(0) & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F);
    return (b(0) & 0x07) << 18 | (b(1) & 0x3F) << 12 | (b(2) & 0x3F) << 6 | (b(3) & 0x3F);
}

// Characters a terminal acts on rather than shows, beyond ASCII's controls:
// DEL, the C1 controls (U+0080-U+009F: 8-bit CSI, OSC, DCS, which some
// terminals take in UTF-8 too), the bidirectional controls that reorder
// what is shown (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069) and the
// line and paragraph separators. Paths and thread names are the agent's to
// choose, and `sandboxctl log --json` is read on an admin's terminal.
bool acts_on_terminal(uint32_t c) {
    return c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0x061C || c == 0x200E || c == 0x200F ||
           (c >= 0x2028 && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

void append_u_escape(std::string& out, uint32_t c) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(c >> shift) & 15];
}

}  // namespace

bool valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        size_t n = sequence_at(s, i);
        if (!n) return false;
        i += n;
    }
    return true;
}

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            size_t n = sequence_at(s, i);
            if (n && acts_on_terminal(code_point(s, i, n))) {
                append_u_escape(out, code_point(s, i, n));
                i += n;
            } else if (n) {
                out.append(s.substr(i, n));
                i += n;
            } else {
                out += "\xEF\xBF\xBD";  // U+FFFD for the byte that does not fit
                ++i;
            }
            continue;
        }
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20 || acts_on_terminal(c)) append_u_escape(out, c);
                else out += char(c);
        }
        ++i;
    }
    out += '"';
}

std::string terminal_safe_json_line(std::string_view line) {
    std::string out;
    out.reserve(line.size());
    for (size_t i = 0; i < line.size();) {
        unsigned char c = static_cast<unsigned char>(line[i]);
        size_t n = sequence_at(line, i);
        if (!n) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else if (c < 0x20 || acts_on_terminal(n == 1 ? c : code_point(line, i, n))) {
            append_u_escape(out, n == 1 ? c : code_point(line, i, n));
            i += n;
        } else {
            out.append(line.substr(i, n));
            i += n;
        }
    }
    return out;
}

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

}  // namespace

void append_exact_json(std::string& out, const nlohmann::json& v) {
    static constexpr char kHex[] = "0123456789abcdef";
    switch (v.type()) {
        case nlohmann::json::value_t::string: {
            const auto& s = v.get_ref<const std::string&>();
            if (valid_utf8(s)) {
                append_json_string(out, s);
                return;
            }
            out += "{\"hex\":\"";
            for (unsigned char c : s) {
                out += kHex[c >> 4];
                out += kHex[c & 15];
            }
            out += "\"}";
            return;
        }
        case nlohmann::json::value_t::object: {
            out += '{';
            bool first = true;
            for (const auto& [k, item] : v.items()) {
                if (!first) out += ',';
                first = false;
                append_json_string(out, k);
                out += ':';
                append_exact_json(out, item);
            }
            out += '}';
            return;
        }
        case nlohmann::json::value_t::array: {
            out += '[';
            bool first = true;
            for (const auto& item : v) {
                if (!first) out += ',';
                first = false;
                append_exact_json(out, item);
            }
            out += ']';
            return;
        }
        case nlohmann::json::value_t::number_unsigned: out += std::to_string(v.get<uint64_t>()); return;
        case nlohmann::json::value_t::number_integer: out += std::to_string(v.get<int64_t>()); return;
        case nlohmann::json::value_t::null: out += "null"; return;
        case nlohmann::json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return;
        default: out += v.dump(); return;  // floats (none yet), nothing else is ever stored
    }
}

std::string text_at(const nlohmann::json& record, const char* key) {
    if (!record.is_object()) return {};
    auto it = record.find(key);
    return it == record.end() ? std::string() : text_value(*it);
}

std::optional<int64_t> integer_at(const nlohmann::json& record, const char* key) {
    if (!record.is_object()) return std::nullopt;
    auto it = record.find(key);
    if (it == record.end()) return std::nullopt;
    if (it->is_number_integer() && !it->is_number_unsigned()) return it->get<int64_t>();
    if (it->is_number_unsigned() && it->get<uint64_t>() <= uint64_t(INT64_MAX)) return int64_t(it->get<uint64_t>());
    return std::nullopt;
}

std::string text_value(const nlohmann::json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (!v.is_object() || v.size() != 1 || !v.contains("hex") || !v["hex"].is_string()) return {};
    const auto& hex = v["hex"].get_ref<const std::string&>();
    if (hex.size() % 2) return {};
    std::string out;
    for (size_t i = 0; i < hex.size(); i += 2) {
        int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0) return {};
        out += char(hi << 4 | lo);
    }
    return out;
}

}  // namespace sandboxd
