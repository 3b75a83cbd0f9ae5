/*
 * sender IFACE DSTMAC SRCIP DSTIP DPORT COUNT [SOURCES]: sends COUNT TCP SYN frames through
 * an AF_PACKET socket on IFACE (batches of 64 with sendmmsg), from SOURCES consecutive
 * addresses starting at SRCIP (default 1) and 64 source ports, to DSTIP:DPORT. On a veth the
 * peer's receive path (IP, conntrack, netfilter) runs in this process's softirq context, so
 * the time per packet is the kernel's cost of handling it. Prints JSON: packets, wall ns per
 * packet, system and user CPU ns per packet.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static uint16_t csum(const void *data, size_t len, uint32_t sum) {
  const uint8_t *p = data;
  while (len > 1) { sum += (p[0] << 8) | p[1]; p += 2; len -= 2; }
  if (len) sum += p[0] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  if (argc < 7) { fprintf(stderr, "usage: %s IFACE DSTMAC SRCIP DSTIP DPORT COUNT [SOURCES]\n", argv[0]); return 2; }
  int sources = argc > 7 ? atoi(argv[7]) : 1;
  if (sources < 1) sources = 1;
  const char *ifname = argv[1];
  unsigned m[6];
  sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
  long count = atol(argv[6]);
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
  if (fd < 0) { perror("socket"); return 1; }
  struct sockaddr_ll sll = {0};
  sll.sll_family = AF_PACKET; sll.sll_ifindex = if_nametoindex(ifname); sll.sll_halen = 6;
  for (int i = 0; i < 6; i++) sll.sll_addr[i] = m[i];
  enum { BATCH = 64 };
  static uint8_t frames[BATCH][60];
  struct mmsghdr msgs[BATCH]; struct iovec iov[BATCH];
  for (int b = 0; b < BATCH; b++) {
    uint8_t *f = frames[b];
    memset(f, 0, 60);
    for (int i = 0; i < 6; i++) f[i] = m[i];
    f[6] = 0x02; f[11] = 0x01; f[12] = 0x08; f[13] = 0x00;
    struct iphdr *ip = (struct iphdr *)(f + 14);
    ip->ihl = 5; ip->version = 4; ip->tot_len = htons(40); ip->ttl = 64; ip->protocol = 6;
    uint32_t base;
    inet_pton(AF_INET, argv[3], &base);
    ip->saddr = htonl(ntohl(base) + (uint32_t)(b % sources));
    inet_pton(AF_INET, argv[4], &ip->daddr);
    ip->check = htons(csum(ip, 20, 0));
    struct tcphdr *tcp = (struct tcphdr *)(f + 34);
    tcp->source = htons(30000 + b); tcp->dest = htons(atoi(argv[5])); tcp->seq = htonl(1000 + b);
    tcp->doff = 5; tcp->syn = 1; tcp->window = htons(64240);
    uint8_t pseudo[12 + 20]; memcpy(pseudo, &ip->saddr, 4); memcpy(pseudo + 4, &ip->daddr, 4);
    pseudo[8] = 0; pseudo[9] = 6; pseudo[10] = 0; pseudo[11] = 20; memcpy(pseudo + 12, tcp, 20);
    tcp->check = htons(csum(pseudo, sizeof pseudo, 0));
    iov[b].iov_base = f; iov[b].iov_len = 54;
    memset(&msgs[b], 0, sizeof msgs[b]);
    msgs[b].msg_hdr.msg_name = &sll; msgs[b].msg_hdr.msg_namelen = sizeof sll;
    msgs[b].msg_hdr.msg_iov = &iov[b]; msgs[b].msg_hdr.msg_iovlen = 1;
  }
  struct rusage r0, r1; getrusage(RUSAGE_SELF, &r0);
  double t0 = now(); long sent = 0;
  while (sent < count) {
    int n = count - sent < BATCH ? count - sent : BATCH;
    int k = sendmmsg(fd, msgs, n, 0);
    if (k < 0) { perror("sendmmsg"); return 1; }
    sent += k;
  }
  double t1 = now(); getrusage(RUSAGE_SELF, &r1);
  double sys = (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
  double usr = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6;
  printf("{\"packets\":%ld,\"wall_ns\":%.1f,\"sys_ns\":%.1f,\"usr_ns\":%.1f}\n", sent, (t1 - t0) * 1e9 / sent, sys * 1e9 / sent, usr * 1e9 / sent);
  return 0;
}
