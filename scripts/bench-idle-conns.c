/*
 * bench-idle-conns.c - open many idle MQTT 3.1.1 connections and hold them.
 *
 * Used by scripts/bench-broker.sh to measure a broker's memory per idle connection.
 * Raw sockets, no MQTT library, so the client side costs one fd and a few bytes per
 * connection and the broker sees exactly: TCP connect, CONNECT (clean session, the
 * given keep-alive, a unique client id), CONNACK, then silence.
 *
 * Build: gcc -O2 -Wall -Wextra -o bench-idle-conns scripts/bench-idle-conns.c
 * Usage: bench-idle-conns -p PORT [-h 127.0.0.1] [-n 10000] [-k 600] [-c 64] [-t 60] [-H 120]
 *   -n  connections to open            -k  keep-alive in the CONNECT, seconds (0 = off)
 *   -c  handshakes in flight at once   -t  give up opening after this many seconds
 *   -H  hold the connections at most this many seconds (SIGTERM/SIGINT end it earlier)
 *
 * Output (stdout, one line each, flushed):
 *   connected=<n> failed=<n> elapsed_s=<s>      once every handshake has finished
 *   still_open=<n> closed_by_broker=<n>         when told to stop (or -H expires)
 * Exit status: 0 if every connection got CONNACK 0 and was still open at the end, 2 if not,
 * 1 on usage or setup errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { ST_FREE, ST_CONNECTING, ST_WAIT_CONNACK };

typedef struct {
	int fd;
	int state;
	int got;                   /* CONNACK bytes read so far */
	unsigned char ack[4];
} slot;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int send_connect(int fd, int idx, int keepalive)
{
	char id[32];
	int idlen = snprintf(id, sizeof id, "idle%x-%d", (unsigned)getpid(), idx); /* <= 23 chars */
	unsigned char pkt[64];
	int n = 0;
	int rem = 10 + 2 + idlen;
	pkt[n++] = 0x10;                     /* CONNECT */
	pkt[n++] = (unsigned char)rem;       /* < 128, one length byte */
	pkt[n++] = 0; pkt[n++] = 4;
	memcpy(pkt + n, "MQTT", 4); n += 4;
	pkt[n++] = 4;                        /* protocol level 3.1.1 */
	pkt[n++] = 0x02;                     /* clean session */
	pkt[n++] = (unsigned char)(keepalive >> 8);
	pkt[n++] = (unsigned char)(keepalive & 0xff);
	pkt[n++] = (unsigned char)(idlen >> 8);
	pkt[n++] = (unsigned char)(idlen & 0xff);
	memcpy(pkt + n, id, (size_t)idlen); n += idlen;
	/* a fresh loopback socket always has room for a few dozen bytes */
	return write(fd, pkt, (size_t)n) == n ? 0 : -1;
}

static int open_socket(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if(fd < 0) return -1;
	if(connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0 && errno != EINPROGRESS){
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	int port = 0, total = 10000, keepalive = 600, conc = 64;
	double open_timeout = 60, hold = 120;
	int ch;
	while((ch = getopt(argc, argv, "h:p:n:k:c:t:H:")) != -1){
		switch(ch){
		case 'h': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'n': total = atoi(optarg); break;
		case 'k': keepalive = atoi(optarg); break;
		case 'c': conc = atoi(optarg); break;
		case 't': open_timeout = atof(optarg); break;
		case 'H': hold = atof(optarg); break;
		default:
			fprintf(stderr, "usage: %s -p PORT [-h HOST] [-n N] [-k KEEPALIVE] [-c INFLIGHT] [-t OPEN_S] [-H HOLD_S]\n", argv[0]);
			return 1;
		}
	}
	if(port <= 0 || total < 1 || conc < 1 || keepalive < 0 || keepalive > 65535){
		fprintf(stderr, "bench-idle-conns: need -p PORT, -n >= 1, -c >= 1, 0 <= -k <= 65535\n");
		return 1;
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	if(inet_pton(AF_INET, host, &sa.sin_addr) != 1){
		fprintf(stderr, "bench-idle-conns: bad IPv4 address %s\n", host);
		return 1;
	}
	struct rlimit rl;
	if(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max){
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)total + 16){
		fprintf(stderr, "bench-idle-conns: fd limit %llu too low for %d connections (raise ulimit -n)\n",
			(unsigned long long)rl.rlim_cur, total);
		return 1;
	}
	struct sigaction act;
	memset(&act, 0, sizeof act);
	act.sa_handler = on_signal;          /* no SA_RESTART: pause()/poll() return on a signal */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGALRM, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	int *open_fds = malloc((size_t)total * sizeof(int));
	slot *slots = calloc((size_t)conc, sizeof(slot));
	struct pollfd *pfd = calloc((size_t)conc, sizeof(struct pollfd));
	int *pslot = calloc((size_t)conc, sizeof(int));
	if(!open_fds || !slots || !pfd || !pslot){
		fprintf(stderr, "bench-idle-conns: out of memory\n");
		return 1;
	}
	int started = 0, connected = 0, failed = 0, inflight = 0, next_id = 0;
	double t0 = now_s();
	while((started < total || inflight > 0) && !g_stop){
		/* top up the in-flight handshakes */
		for(int s = 0; s < conc && started < total; s++){
			if(slots[s].state != ST_FREE) continue;
			int fd = open_socket(&sa);
			started++;
			if(fd < 0){ failed++; continue; }
			slots[s] = (slot){ .fd = fd, .state = ST_CONNECTING };
			inflight++;
		}
		int np = 0;
		for(int s = 0; s < conc; s++){
			if(slots[s].state == ST_FREE) continue;
			pfd[np] = (struct pollfd){ .fd = slots[s].fd,
				.events = slots[s].state == ST_CONNECTING ? POLLOUT : POLLIN };
			pslot[np++] = s;
		}
		if(now_s() - t0 > open_timeout){
			for(int i = 0; i < np; i++){ close(pfd[i].fd); slots[pslot[i]].state = ST_FREE; failed++; }
			failed += total - started;
			inflight = 0;
			break;
		}
		if(np == 0) continue;
		int r = poll(pfd, (nfds_t)np, 200);
		if(r < 0 && errno != EINTR){ perror("poll"); return 1; }
		for(int i = 0; r > 0 && i < np; i++){
			if(!pfd[i].revents) continue;
			slot *sl = &slots[pslot[i]];
			int ok = 1, done = 0;
			if(sl->state == ST_CONNECTING){
				int err = 0;
				socklen_t len = sizeof err;
				if(getsockopt(sl->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0
						|| send_connect(sl->fd, next_id++, keepalive) < 0){
					ok = 0;
				}else{
					sl->state = ST_WAIT_CONNACK;
				}
			}else{
				ssize_t n = read(sl->fd, sl->ack + sl->got, (size_t)(4 - sl->got));
				if(n <= 0){
					if(n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
					ok = 0;
				}else if((sl->got += (int)n) == 4){
					/* CONNACK: 0x20, remaining length 2, flags, return code 0 */
					ok = sl->ack[0] == 0x20 && sl->ack[1] == 2 && sl->ack[3] == 0;
					done = ok;
				}
			}
			if(!ok){
				close(sl->fd);
				failed++;
			}else if(done){
				open_fds[connected++] = sl->fd;
			}
			if(!ok || done){ sl->state = ST_FREE; inflight--; }
		}
	}
	printf("connected=%d failed=%d elapsed_s=%.3f\n", connected, failed, now_s() - t0);
	fflush(stdout);

	if(!g_stop && hold > 0){
		alarm((unsigned)(hold + 0.5));
		while(!g_stop) pause();
	}

	/* a connection the broker dropped is readable (EOF or error) */
	int still_open = 0;
	for(int i = 0; i < connected; i++){
		struct pollfd p = { .fd = open_fds[i], .events = POLLIN };
		if(poll(&p, 1, 0) == 0) still_open++;
	}
	printf("still_open=%d closed_by_broker=%d\n", still_open, connected - still_open);
	fflush(stdout);
	for(int i = 0; i < connected; i++) close(open_fds[i]);
	return (failed == 0 && still_open == total) ? 0 : 2;
}
