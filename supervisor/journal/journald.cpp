#include "journal/journald.h"

#include <dlfcn.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <mutex>

namespace sandboxd {
namespace {

using SendV = decltype(&sd_journal_sendv);

SendV load_sendv() {
    if (::access("/run/systemd/journal/socket", W_OK) != 0) return nullptr;
    void* lib = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return nullptr;
    return reinterpret_cast<SendV>(::dlsym(lib, "sd_journal_sendv"));
}

}  // namespace

bool journald_send(const std::vector<std::string>& fields) {
    static std::once_flag once;
    static SendV sendv = nullptr;
    std::call_once(once, [] { sendv = load_sendv(); });
    if (!sendv) return false;
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (const auto& f : fields) iov.push_back({const_cast<char*>(f.data()), f.size()});
    return sendv(iov.data(), int(iov.size())) >= 0;
}

}  // namespace sandboxd
