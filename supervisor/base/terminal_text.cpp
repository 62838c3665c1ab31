#include "base/terminal_text.h"

#include <cstdint>
#include <cstdio>

namespace sandboxd {
namespace {

void hex_byte(std::string& out, unsigned char b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", b);
    out += buf;
}

// The length of the UTF-8 sequence at `s` and its code point; 0 when the
// bytes there are not one (overlong, a surrogate, past U+10FFFF, cut off).
size_t decode_utf8(std::string_view s, uint32_t& cp) {
    auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
    auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
    unsigned char lead = b(0);
    size_t n;
    uint32_t min;
    if (lead < 0x80) {
        cp = lead;
        return 1;
    } else if ((lead & 0xE0) == 0xC0) {
        n = 2, cp = lead & 0x1F, min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
        n = 3, cp = lead & 0x0F, min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
        n = 4, cp = lead & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; ++i) {
        if (!cont(i)) return 0;
        cp = (cp << 6) | (b(i) & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

// C1 controls (some terminals take U+009B as CSI), bidirectional
// embeddings, overrides and isolates, and the line and paragraph
// separators.
bool invisible_control(uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x200E || cp == 0x200F || cp == 0x061C;
}

}  // namespace

std::string terminal_safe(std::string_view text, Newlines newlines) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        uint32_t cp = 0;
        size_t n = decode_utf8(text.substr(i), cp);
        if (n == 0) {
            hex_byte(out, static_cast<unsigned char>(text[i]));
            ++i;
            continue;
        }
        if (cp == '\\') {
            out += "\\\\";
        } else if (cp == '\n' && newlines == Newlines::Indent) {
            out += "\n  ";
        } else if (cp < 0x20 || cp == 0x7F) {
            hex_byte(out, static_cast<unsigned char>(cp));
        } else if (invisible_control(cp)) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "\\u{%04x}", unsigned(cp));
            out += buf;
        } else {
            out.append(text.substr(i, n));
        }
        i += n;
    }
    return out;
}

}  // namespace sandboxd
