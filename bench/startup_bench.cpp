// Start-up latency of `true` bare and under each sandbox, and the kill
// switch's freeze latency on a busy session. Everything is measured in the
// same run and reported as ratios, because this machine is shared and noisy:
// absolute numbers drift, ratios measured side by side hold.
//
//   sudo bench/run            (or: build/bench/sandboxd-bench --runs N)
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <optional>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/time_util.h"
#include "cgroup/control.h"
#include "session/registry.h"

using namespace sandboxd;

namespace {

struct Runner {
    std::string name;
    std::vector<std::string> argv;
    std::vector<double> ms;
    bool available = true;
};

// Runs argv once with stdio on /dev/null; returns wall ms, or -1 on failure.
double time_once(const std::vector<std::string>& argv) {
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    int64_t t0 = monotonic_nsec();
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execvp(a[0], a.data());
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    int64_t t1 = monotonic_nsec();
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
    return double(t1 - t0) / 1e6;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t i = std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5));
    return v[i];
}

void startup(int runs, const std::string& nofiles_profile) {
    std::vector<Runner> runners = {
        {"bare", {"true"}, {}},
        {"bwrap", {"bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "true"}, {}},
        {"firejail", {"firejail", "--quiet", "--noprofile", "true"}, {}},
        {"sandbox-run", {SANDBOX_RUN, "--profile", "workspace", "--", "true"}, {}},
    };
    if (!nofiles_profile.empty())
        runners.push_back({"sandbox-run-nofiles", {SANDBOX_RUN, "--profile", nofiles_profile, "--", "true"}, {}});
    for (auto& r : runners) r.available = time_once(r.argv) >= 0;  // also warms caches
    // Interleaved, so drift in machine load hits every runner alike.
    for (int i = 0; i < runs; ++i)
        for (auto& r : runners)
            if (r.available) {
                double ms = time_once(r.argv);
                if (ms >= 0) r.ms.push_back(ms);
            }
    double bare = percentile(runners[0].ms, 0.5);
    double bwrap = runners[1].available ? percentile(runners[1].ms, 0.5) : 0;
    std::printf("start-up latency of `true` (%d interleaved runs each)\n", runs);
    std::printf("  %-36s %10s %10s %8s %9s\n", "runner", "median ms", "p90 ms", "x bare", "x bwrap");
    for (const auto& r : runners) {
        std::string label = r.name;
        if (r.name == "sandbox-run") label += " --profile workspace";
        if (r.name == "sandbox-run-nofiles") label = "sandbox-run, workspace, events.files=false";
        if (!r.available) {
            std::printf("  %-36s %10s\n", label.c_str(), "not available");
            continue;
        }
        double med = percentile(r.ms, 0.5);
        std::printf("  %-36s %10.2f %10.2f %8.1f %9s\n", label.c_str(), med, percentile(r.ms, 0.9), med / bare,
                    bwrap > 0 ? (std::to_string(med / bwrap).substr(0, 4)).c_str() : "-");
    }
}

// Freeze latency of a session running `procs` busy loops.
void freeze(int procs, int runs) {
    std::string script = "i=0; while [ $i -lt " + std::to_string(procs) +
                         " ]; do (while :; do :; done) & i=$((i+1)); done; wait";
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        execl(SANDBOX_RUN, SANDBOX_RUN, "--profile", "workspace", "--name", "bench-freeze", "--", "sh", "-c",
              script.c_str(), (char*)nullptr);
        _exit(127);
    }
    SandboxdDirs dirs = SandboxdDirs::from_env();
    std::string cg;
    for (int i = 0; i < 1000 && cg.empty(); ++i) {
        std::vector<std::string> problems;
        for (const auto& s : list_sessions(dirs, problems))
            if (s.record.name == "bench-freeze" && s.processes >= procs + 1) cg = s.record.cgroup;
        if (cg.empty()) usleep(10000);
    }
    if (cg.empty()) {
        std::printf("freeze: session did not start\n");
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        return;
    }
    usleep(300000);  // let the loops saturate both CPUs
    auto measure = [&](bool realtime) {
        std::vector<double> ms;
        for (int i = 0; i < runs; ++i) {
            double took;
            {
                std::optional<RealtimeBoost> boost;
                if (realtime) boost.emplace();
                auto r = cgroup_set_frozen(cg, true, 10000);
                if (!r) {
                    std::printf("freeze failed: %s\n", r.error().describe().c_str());
                    return ms;
                }
                took = double(*r) / 1e6;
            }
            (void)cgroup_set_frozen(cg, false, 10000);
            ms.push_back(took);
            usleep(20000);
        }
        return ms;
    };
    auto rt = measure(true);
    auto normal = measure(false);
    std::printf("\nfreeze latency, %d busy processes on %ld CPUs (%d runs each)\n", procs,
                sysconf(_SC_NPROCESSORS_ONLN), runs);
    std::printf("  %-36s %10s %10s\n", "kill switch", "median ms", "p99 ms");
    std::printf("  %-36s %10.3f %10.3f\n", "sandboxctl freeze (SCHED_FIFO, poll)", percentile(rt, 0.5),
                percentile(rt, 0.99));
    std::printf("  %-36s %10.3f %10.3f\n", "same, at normal priority", percentile(normal, 0.5),
                percentile(normal, 0.99));
    (void)cgroup_kill(cg, 10000);
    waitpid(pid, nullptr, 0);
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 200, freeze_runs = 100, procs = 100;
    std::string nofiles;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--freeze-runs")) freeze_runs = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--procs")) procs = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--nofiles-profile")) nofiles = argv[i + 1];
    }
    if (geteuid() != 0) {
        std::fprintf(stderr, "sandboxd-bench: run as root (sandbox-run and the freezer need it)\n");
        return 1;
    }
    startup(runs, nofiles);
    freeze(procs, freeze_runs);
    return 0;
}
