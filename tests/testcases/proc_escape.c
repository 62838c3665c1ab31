/* Process and socket escape attempts from inside a session, one per
 * argument, printed as "NAME ok" or "NAME errno=E":
 *   proc_escape OUTSIDE_PID ABSTRACT_NAME TCP_PORT HIDDEN_SOCKET probe... */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mqueue.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static int outside_pid, tcp_port;
static const char *abstract_name, *hidden_socket;

/* Closes the socket a probe used and returns its result, errno as the
 * probe's call left it. */
static int closing(int s, int r) {
    int e = errno;
    close(s);
    errno = e;
    return r;
}

/* Prints "NAME-port N" for the socket's port, which the kernel chose, for
 * the test to reach it from outside. */
static int print_port(const char* name, int s) {
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    if (getsockname(s, (struct sockaddr*)&a, &len) != 0) return -1;
    int port = ntohs(a.ss_family == AF_INET6 ? ((struct sockaddr_in6*)&a)->sin6_port : ((struct sockaddr_in*)&a)->sin_port);
    printf("%s-port %d\n", name, port);
    fflush(stdout);
    return 0;
}

/* TCP: connect(); UDP: an unconnected sendto(). Either way to addr:tcp_port. */
static int inet_call(int family, int type, const char* addr) {
    int s = socket(family, type, 0);
    if (s < 0) return -1;
    struct sockaddr_storage st;
    memset(&st, 0, sizeof st);
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in* a = (struct sockaddr_in*)&st;
        a->sin_family = AF_INET;
        a->sin_port = htons(tcp_port);
        inet_pton(AF_INET, addr, &a->sin_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in6* a = (struct sockaddr_in6*)&st;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(tcp_port);
        inet_pton(AF_INET6, addr, &a->sin6_addr);
        len = sizeof *a;
    }
    return closing(s, type == SOCK_STREAM ? connect(s, (struct sockaddr*)&st, len)
                                          : (sendto(s, "x", 1, 0, (struct sockaddr*)&st, len) == 1 ? 0 : -1));
}

static int tcp_connect(int family, const char* addr) { return inet_call(family, SOCK_STREAM, addr); }

static int unix_connect(const char* path, int abstract) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) return -1;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    socklen_t len;
    if (abstract) {
        a.sun_path[0] = '\0';
        strncpy(a.sun_path + 1, path, sizeof a.sun_path - 2);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path));
    } else {
        strncpy(a.sun_path, path, sizeof a.sun_path - 1);
        len = sizeof a;
    }
    return closing(s, connect(s, (struct sockaddr*)&a, len));
}

static int probe(const char* name) {
    char buf[128];
    if (!strcmp(name, "kill_outside")) return kill(outside_pid, SIGTERM);
    if (!strcmp(name, "ptrace_outside")) return (int)ptrace(PTRACE_ATTACH, outside_pid, 0, 0);
    if (!strcmp(name, "proc_mem_outside")) {
        snprintf(buf, sizeof buf, "/proc/%d/mem", outside_pid);
        int fd = open(buf, O_RDWR);
        if (fd < 0) return -1;
        close(fd);
        return 0;
    }
    if (!strcmp(name, "see_outside")) {
        snprintf(buf, sizeof buf, "/proc/%d", outside_pid);
        return access(buf, F_OK);
    }
    if (!strcmp(name, "pidfd_outside")) return (int)syscall(SYS_pidfd_open, outside_pid, 0);
    if (!strcmp(name, "abstract_unix")) return unix_connect(abstract_name, 1);
    if (!strcmp(name, "hidden_socket")) return unix_connect(hidden_socket, 0);
    if (!strcmp(name, "tcp4")) return tcp_connect(AF_INET, "127.0.0.1");
    if (!strcmp(name, "tcp6")) return tcp_connect(AF_INET6, "::1");
    if (!strcmp(name, "tcp_mapped")) return tcp_connect(AF_INET6, "::ffff:127.0.0.1");
    if (!strcmp(name, "tcp4_other")) return tcp_connect(AF_INET, "127.0.0.2");
    if (!strcmp(name, "udp4")) return inet_call(AF_INET, SOCK_DGRAM, "127.0.0.1");
    if (!strcmp(name, "udp6_mapped")) return inet_call(AF_INET6, SOCK_DGRAM, "::ffff:127.0.0.1");
    /* IPv4 sockets that are neither TCP nor UDP, and TCP's fast open,
     * which connects from sendto(). */
    if (!strcmp(name, "ping4")) {
        int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
        if (s < 0) return -1;
        unsigned char echo[8] = {8 /* echo request */};
        struct sockaddr_in a = {.sin_family = AF_INET};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        return closing(s, sendto(s, echo, sizeof echo, 0, (struct sockaddr*)&a, sizeof a) == sizeof echo ? 0 : -1);
    }
    if (!strcmp(name, "mptcp4")) {
        int s = socket(AF_INET, SOCK_STREAM, 262 /* IPPROTO_MPTCP */);
        if (s < 0) return -1;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tcp_port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        return closing(s, connect(s, (struct sockaddr*)&a, sizeof a));
    }
    /* Protocols the kernel would load a module for (SCTP), and a TCP upper
     * layer protocol by name ("tls"), loaded the same way. */
    if (!strcmp(name, "sctp4")) {
        int s = socket(AF_INET, SOCK_STREAM, 132 /* IPPROTO_SCTP */);
        return s < 0 ? -1 : closing(s, 0);
    }
    /* The same through socketpair(), which makes both sockets (loading the
     * module) before IPv6 says it has no pairs. */
    if (!strcmp(name, "sctp_pair6")) {
        int sv[2];
        if (socketpair(AF_INET6, SOCK_SEQPACKET, 132, sv) < 0) return -1;
        close(sv[1]);
        return closing(sv[0], 0);
    }
    /* SOCK_PACKET on IPv4: the kernel makes it a packet socket, loading
     * that family's module first. */
    if (!strcmp(name, "sock_packet4")) {
        int s = socket(AF_INET, SOCK_PACKET, 0);
        return s < 0 ? -1 : closing(s, 0);
    }
    /* Socket ioctls that load the bridge's and 802.1Q's modules by name
     * (the kernel's answer here, with both built in or absent, is its own). */
    if (!strcmp(name, "bridge_ioctl") || !strcmp(name, "vlan_ioctl")) {
        int s = socket(AF_UNIX, SOCK_DGRAM, 0);
        if (s < 0) return -1;
        unsigned long args[3] = {0 /* BRCTL_GET_VERSION */, 0, 0};
        char vlan[64] = {0};
        return closing(s, !strcmp(name, "bridge_ioctl") ? ioctl(s, 0x8940, args) : ioctl(s, 0x8982, vlan));
    }
    if (!strcmp(name, "tcp_ulp")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) return -1;
        return closing(s, setsockopt(s, 6 /* SOL_TCP */, 31 /* TCP_ULP */, "tls", 3));
    }
    if (!strcmp(name, "tcp_fastopen")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tcp_port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        return closing(s, sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr*)&a, sizeof a) == 1 ? 0 : -1);
    }
    /* A connect hook run by something other than connect() (TCP fast
     * open, to an allowed port), then a connect Landlock refuses (a port
     * no entry names): the first must not hide the second's refusal. */
    if (!strcmp(name, "fastopen_then_other_port")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tcp_port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        (void)sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr*)&a, sizeof a);
        close(s);
        s = socket(AF_INET, SOCK_STREAM, 0);
        a.sin_port = htons(tcp_port + 3);
        return closing(s, connect(s, (struct sockaddr*)&a, sizeof a));
    }
    if (!strcmp(name, "netlink_diag")) {
        int n = socket(AF_NETLINK, SOCK_RAW, 4 /* NETLINK_SOCK_DIAG */);
        if (n >= 0) close(n);
        return n;
    }
    if (!strcmp(name, "netlink_route")) {
        int n = socket(AF_NETLINK, SOCK_RAW, 0 /* NETLINK_ROUTE */);
        if (n >= 0) close(n);
        return n;
    }
    if (!strcmp(name, "tcp_bind")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tcp_port + 1)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return closing(s, bind(s, (struct sockaddr*)&a, sizeof a));
    }
    if (!strcmp(name, "tcp6_bind")) {
        int s = socket(AF_INET6, SOCK_STREAM, 0);
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(tcp_port + 2)};
        a.sin6_addr = in6addr_loopback;
        return closing(s, bind(s, (struct sockaddr*)&a, sizeof a));
    }
    /* The kernel's own EACCES after the connect hooks let the call by: a
     * broadcast address on a socket without SO_BROADCAST. */
    if (!strcmp(name, "udp_broadcast_connect")) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tcp_port)};
        a.sin_addr.s_addr = htonl(INADDR_BROADCAST);
        return closing(s, connect(s, (struct sockaddr*)&a, sizeof a));
    }
    /* System V and POSIX IPC objects live in the IPC namespace, not in the
     * filesystem: Landlock and the mounts never see them. The test made a
     * segment and a queue on the host, named after OUTSIDE_PID. */
    if (!strcmp(name, "sysv_shm_outside")) {
        int id = shmget(0x5bd00000 | (outside_pid & 0xffff), 0, 0);
        if (id < 0) return -1;
        char* p = shmat(id, NULL, 0);
        if (p == (void*)-1) return -1;
        memcpy(p, "agent", 5);
        return shmdt(p);
    }
    if (!strcmp(name, "mqueue_outside")) {
        char q[64];
        snprintf(q, sizeof q, "/sandboxd-test-%d", outside_pid);
        mqd_t m = mq_open(q, O_WRONLY | O_NONBLOCK);
        if (m == (mqd_t)-1) return -1;
        int r = mq_send(m, "agent", 5, 0);
        mq_close(m);
        return r;
    }
    if (!strcmp(name, "mqueue_make")) {
        char q[64];
        snprintf(q, sizeof q, "/sandboxd-made-%d", outside_pid);
        mqd_t m = mq_open(q, O_CREAT | O_WRONLY, 0666, NULL);
        if (m == (mqd_t)-1) return -1;
        return mq_close(m);
    }
    /* listen() on a socket never bound: the kernel binds it to a port of
     * its choosing, and no bind hook sees that. The port is printed for
     * the test to connect to; "ok" when a connection arrived within 5 s. */
    if (!strcmp(name, "tcp_listen_unbound") || !strcmp(name, "tcp6_listen_unbound")) {
        int v6 = name[3] == '6';
        int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
        if (s < 0) return -1;
        if (listen(s, 1) != 0 || print_port(name, s) != 0) return -1;
        struct pollfd p = {.fd = s, .events = POLLIN};
        int n = poll(&p, 1, 5000);
        int c = n == 1 ? accept(s, NULL, NULL) : -1;
        if (n == 0) errno = ETIMEDOUT;
        return c;
    }
    /* A UDP socket the kernel bound by itself: send() with no address
     * fails, but the socket has a port from then on. "ok" when a datagram
     * from outside arrived within 5 s. udp_ask: a datagram to TCP_PORT on
     * loopback, "ok" when the answer arrived. */
    if (!strcmp(name, "udp6_routing_header")) {
        /* A one-segment IPv6 segment routing header naming fd98::2, then a
         * datagram to [::1]:tcp_port: the packet would go to fd98::2. */
        unsigned char srh[8 + 16] = {0, 2, 4, 0, 0, 0, 0, 0};
        inet_pton(AF_INET6, "fd98::2", srh + 8);
        int s = socket(AF_INET6, SOCK_DGRAM, 0);
        if (s < 0) return -1;
        if (setsockopt(s, IPPROTO_IPV6, 57 /* IPV6_RTHDR */, srh, sizeof srh) != 0) return closing(s, -1);
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(tcp_port)};
        inet_pton(AF_INET6, "::1", &a.sin6_addr);
        return closing(s, sendto(s, "x", 1, 0, (struct sockaddr*)&a, sizeof a) == 1 ? 0 : -1);
    }
    if (!strcmp(name, "udp4_flood")) {
        /* 3000 refused datagrams: the journal must stay bounded. */
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        if (s < 0) return -1;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tcp_port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        for (int i = 0; i < 3000; ++i) (void)sendto(s, "x", 1, 0, (struct sockaddr*)&a, sizeof a);
        return closing(s, 0);
    }
    if (!strcmp(name, "multicast_join")) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        if (s < 0) return -1;
        struct ip_mreq m = {.imr_multiaddr.s_addr = htonl(0xef010203), .imr_interface.s_addr = htonl(INADDR_ANY)};
        return closing(s, setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m));
    }
    if (!strcmp(name, "abstract_bind") || !strcmp(name, "abstract_autobind")) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (s < 0) return -1;
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        socklen_t len = sizeof(sa_family_t);
        if (!strcmp(name, "abstract_bind")) {
            snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "%s-squat", abstract_name);
            len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1));
        }
        return closing(s, bind(s, (struct sockaddr*)&a, len));
    }
    if (!strcmp(name, "udp_autobind") || !strcmp(name, "udp6_autobind") || !strcmp(name, "udp_ask")) {
        int v6 = name[3] == '6';
        int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
        if (s < 0) return -1;
        if (!strcmp(name, "udp_ask")) {
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tcp_port)};
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (sendto(s, "ask", 3, 0, (struct sockaddr*)&a, sizeof a) != 3) return -1;
        } else {
            (void)send(s, "x", 1, 0); /* EDESTADDRREQ */
            if (print_port(name, s) != 0) return -1;
        }
        struct pollfd p = {.fd = s, .events = POLLIN};
        int n = poll(&p, 1, 5000);
        if (n == 0) errno = ETIMEDOUT;
        return n == 1 ? 0 : -1;
    }
    fprintf(stderr, "unknown probe %s\n", name);
    exit(2);
}

int main(int argc, char** argv) {
    if (argc < 5) return 2;
    outside_pid = atoi(argv[1]);
    abstract_name = argv[2];
    tcp_port = atoi(argv[3]);
    hidden_socket = argv[4];
    for (int i = 5; i < argc; ++i) {
        errno = 0;
        int r = probe(argv[i]);
        if (r >= 0) printf("%s ok\n", argv[i]);
        else printf("%s errno=%s\n", argv[i], strerrorname_np(errno));
        fflush(stdout);
    }
    printf("probe-done\n");
    return 0;
}
