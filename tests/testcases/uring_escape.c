/* io_uring is blocked by the seccomp baseline because it performs I/O
 * without the syscalls the filter and the syscall tracepoints see. A profile
 * may allow it; Landlock must then still hold, since io_uring's openat goes
 * through the same VFS and LSM hooks. This opens ARGV[1] for writing
 * through io_uring and prints "uring_open ok" or "uring_open errno=E"
 * ("uring_setup errno=E" when io_uring itself is refused). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int fd = (int)syscall(__NR_io_uring_setup, 4, &p);
    if (fd < 0) {
        printf("uring_setup errno=%s\n", strerrorname_np(errno));
        return 0;
    }
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    char* sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    char* cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
    struct io_uring_sqe* sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                                     MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
        printf("uring_mmap errno=%s\n", strerrorname_np(errno));
        return 0;
    }
    unsigned* tail = (unsigned*)(sq + p.sq_off.tail);
    unsigned* mask = (unsigned*)(sq + p.sq_off.ring_mask);
    unsigned* array = (unsigned*)(sq + p.sq_off.array);
    unsigned idx = *tail & *mask;
    memset(&sqes[idx], 0, sizeof sqes[idx]);
    sqes[idx].opcode = IORING_OP_OPENAT;
    sqes[idx].fd = AT_FDCWD;
    sqes[idx].addr = (unsigned long)argv[1];
    sqes[idx].open_flags = O_WRONLY | O_APPEND;
    array[idx] = idx;
    __atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
    if (syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) {
        printf("uring_enter errno=%s\n", strerrorname_np(errno));
        return 0;
    }
    unsigned* chead = (unsigned*)(cq + p.cq_off.head);
    unsigned* cmask = (unsigned*)(cq + p.cq_off.ring_mask);
    struct io_uring_cqe* cqes = (struct io_uring_cqe*)(cq + p.cq_off.cqes);
    int res = cqes[*chead & *cmask].res;
    if (res >= 0) {
        const char msg[] = "pwned-by-uring";
        ssize_t n = write(res, msg, sizeof msg - 1);
        (void)n;
        printf("uring_open ok\n");
    } else {
        printf("uring_open errno=%s\n", strerrorname_np(-res));
    }
    return 0;
}
