#include "session/dirs.h"

#include <sys/random.h>

#include <cstdlib>

namespace sandboxd {

SandboxdDirs SandboxdDirs::from_env() {
    SandboxdDirs d;
    if (const char* r = std::getenv("SANDBOXD_RUNTIME_DIR"); r && r[0] == '/') d.runtime = r;
    if (const char* s = std::getenv("SANDBOXD_STATE_DIR"); s && s[0] == '/') d.state = s;
    return d;
}

Result<std::string> new_session_id() {
    unsigned char raw[6];
    if (::getrandom(raw, sizeof raw, 0) != sizeof raw) return errno_error("getrandom failed");
    static const char hex[] = "0123456789abcdef";
    std::string id;
    for (unsigned char b : raw) {
        id += hex[b >> 4];
        id += hex[b & 15];
    }
    return id;
}

}  // namespace sandboxd
