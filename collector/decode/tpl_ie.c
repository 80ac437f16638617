/* tpl_ie.c: the information elements flowhunt decodes into the flow record.
 *
 * One table for NetFlow v9 field types and IPFIX information elements: v9 types below 128
 * are the IPFIX numbers (RFC 3954 section 8, RFC 7012), and the v9-only Cisco NSEL types
 * (40001-40005) lie above the 15 bits an IPFIX element id can have, so they cannot clash.
 * Reverse elements of biflows are the forward ids under PEN 29305 (RFC 5103 section 6.1).
 *
 * `prio` settles templates that carry several fields for one column: the template compiler
 * keeps the highest and skips the rest. Counters: a delta count (1, 2) beats the initiator
 * counts of firewalls (231, 298), which beat post-counters (23, 24, which some v9 exporters
 * fill instead; SiLK's nf9-out-is-reverse quirk is why they are not taken as reverse), which
 * beat totals (85, 86: RFC 7012 says never to sum totals, so they count only when nothing
 * better is there). Times: absolute milliseconds beat NTP micro/nanoseconds, then seconds,
 * then delta microseconds, then sysUpTime-relative values. VLAN: vlanId (58) beats dot1qVlanId
 * (243), which some exporters send instead.
 */
#include "tpl.h"

#define IE(pen, id, kind, col, aux, prio)                                                          \
    {                                                                                              \
        pen, id, TPL_OP_##kind, FLOW_COL_##col, aux, prio                                          \
    }
#define R TPL_PEN_REVERSE

static const tpl_ie_t tpl_ies[] = {
    IE(0, 1, UINT, bytes, 0, 4),                     /* octetDeltaCount */
    IE(0, 2, UINT, packets, 0, 4),                   /* packetDeltaCount */
    IE(0, 4, UINT, proto, 0, 1),                     /* protocolIdentifier */
    IE(0, 5, UINT, tos, 0, 1),                       /* ipClassOfService */
    IE(0, 6, UINT, tcp_flags, 0, 1),                 /* tcpControlBits (2 bytes in RFC 7125) */
    IE(0, 7, UINT, src_port, 0, 1),                  /* sourceTransportPort */
    IE(0, 8, ADDR4, src_addr, 0, 1),                 /* sourceIPv4Address */
    IE(0, 9, UINT, src_mask, 0, 1),                  /* sourceIPv4PrefixLength */
    IE(0, 10, UINT, in_if, 0, 1),                    /* ingressInterface */
    IE(0, 11, UINT, dst_port, 0, 1),                 /* destinationTransportPort */
    IE(0, 12, ADDR4, dst_addr, 0, 1),                /* destinationIPv4Address */
    IE(0, 13, UINT, dst_mask, 0, 1),                 /* destinationIPv4PrefixLength */
    IE(0, 14, UINT, out_if, 0, 1),                   /* egressInterface */
    IE(0, 15, ADDR4, next_hop, 0, 1),                /* ipNextHopIPv4Address */
    IE(0, 16, UINT, src_as, 0, 1),                   /* bgpSourceAsNumber */
    IE(0, 17, UINT, dst_as, 0, 1),                   /* bgpDestinationAsNumber */
    IE(0, 21, TIME, time_end, TPL_T_UPTIME, 1),      /* flowEndSysUpTime */
    IE(0, 22, TIME, time_start, TPL_T_UPTIME, 1),    /* flowStartSysUpTime */
    IE(0, 23, UINT, bytes, 0, 2),                    /* postOctetDeltaCount (v9 OUT_BYTES) */
    IE(0, 24, UINT, packets, 0, 2),                  /* postPacketDeltaCount (v9 OUT_PKTS) */
    IE(0, 27, ADDR6, src_addr, 0, 1),                /* sourceIPv6Address */
    IE(0, 28, ADDR6, dst_addr, 0, 1),                /* destinationIPv6Address */
    IE(0, 29, UINT, src_mask, 0, 1),                 /* sourceIPv6PrefixLength */
    IE(0, 30, UINT, dst_mask, 0, 1),                 /* destinationIPv6PrefixLength */
    IE(0, 32, ICMP, icmp_type, 0, 1),                /* icmpTypeCodeIPv4 */
    IE(0, 34, SAMPLING, sampling, 0, 1),             /* samplingInterval (v9 SAMPLING_INTERVAL) */
    IE(0, 48, SAMPLER, sampling, 0, 1),              /* samplerId (v9 FLOW_SAMPLER_ID) */
    IE(0, 50, SAMPLING, sampling, 0, 1),             /* samplerRandomInterval */
    IE(0, 58, UINT, vlan, 0, 1),                     /* vlanId */
    IE(0, 61, UINT, direction, 0, 1),                /* flowDirection */
    IE(0, 62, ADDR6, next_hop, 0, 1),                /* ipNextHopIPv6Address */
    IE(0, 85, UINT, bytes, 0, 1),                    /* octetTotalCount */
    IE(0, 86, UINT, packets, 0, 1),                  /* packetTotalCount */
    IE(0, 136, UINT, end_reason, 0, 1),              /* flowEndReason */
    IE(0, 139, ICMP, icmp_type, 0, 1),               /* icmpTypeCodeIPv6 */
    IE(0, 150, TIME, time_start, TPL_T_SEC, 4),      /* flowStartSeconds */
    IE(0, 151, TIME, time_end, TPL_T_SEC, 4),        /* flowEndSeconds */
    IE(0, 152, TIME, time_start, TPL_T_MS, 6),       /* flowStartMilliseconds */
    IE(0, 153, TIME, time_end, TPL_T_MS, 6),         /* flowEndMilliseconds */
    IE(0, 154, TIME, time_start, TPL_T_NTP, 5),      /* flowStartMicroseconds */
    IE(0, 155, TIME, time_end, TPL_T_NTP, 5),        /* flowEndMicroseconds */
    IE(0, 156, TIME, time_start, TPL_T_NTP, 5),      /* flowStartNanoseconds */
    IE(0, 157, TIME, time_end, TPL_T_NTP, 5),        /* flowEndNanoseconds */
    IE(0, 158, TIME, time_start, TPL_T_DELTA_US, 3), /* flowStartDeltaMicroseconds */
    IE(0, 159, TIME, time_end, TPL_T_DELTA_US, 3),   /* flowEndDeltaMicroseconds */
    IE(0, 160, SYSINIT, time_start, 0, 1),           /* systemInitTimeMilliseconds */
    IE(0, 176, UINT, icmp_type, 0, 1),               /* icmpTypeIPv4 */
    IE(0, 177, UINT, icmp_code, 0, 1),               /* icmpCodeIPv4 */
    IE(0, 178, UINT, icmp_type, 0, 1),               /* icmpTypeIPv6 */
    IE(0, 179, UINT, icmp_code, 0, 1),               /* icmpCodeIPv6 */
    IE(0, 225, ADDR4, nat_src_addr, 0, 1),           /* postNATSourceIPv4Address */
    IE(0, 226, ADDR4, nat_dst_addr, 0, 1),           /* postNATDestinationIPv4Address */
    IE(0, 227, UINT, nat_src_port, 0, 1),            /* postNAPTSourceTransportPort */
    IE(0, 228, UINT, nat_dst_port, 0, 1),            /* postNAPTDestinationTransportPort */
    IE(0, 231, UINT, bytes, 0, 3),                   /* initiatorOctets (NSEL forward bytes) */
    IE(0, 232, UINT, rev_bytes, 0, 3),               /* responderOctets (NSEL reverse bytes) */
    IE(0, 233, UINT, fw_event, 0, 2),                /* firewallEvent */
    IE(0, 243, UINT, vlan, 0, 0),                    /* dot1qVlanId, when vlanId is absent */
    IE(0, 281, ADDR6, nat_src_addr, 0, 1),           /* postNATSourceIPv6Address */
    IE(0, 282, ADDR6, nat_dst_addr, 0, 1),           /* postNATDestinationIPv6Address */
    IE(0, 298, UINT, packets, 0, 3),                 /* initiatorPackets */
    IE(0, 299, UINT, rev_packets, 0, 3),             /* responderPackets */
    IE(0, 302, SAMPLER, sampling, 0, 1),             /* selectorId (PSAMP) */
    IE(0, 305, SAMPLING, sampling, 0, 1),            /* samplingPacketInterval (PSAMP) */
    IE(0, 306, SPACE, sampling, 0, 1),               /* samplingPacketSpace (PSAMP) */
    IE(0, 40001, ADDR4, nat_src_addr, 0, 1),         /* v9 NSEL NF_F_XLATE_SRC_ADDR_IPV4 */
    IE(0, 40002, ADDR4, nat_dst_addr, 0, 1),         /* v9 NSEL NF_F_XLATE_DST_ADDR_IPV4 */
    IE(0, 40003, UINT, nat_src_port, 0, 1),          /* v9 NSEL NF_F_XLATE_SRC_PORT */
    IE(0, 40004, UINT, nat_dst_port, 0, 1),          /* v9 NSEL NF_F_XLATE_DST_PORT */
    IE(0, 40005, UINT, fw_event, 0, 1),              /* v9 NSEL NF_F_FW_EVENT */
    IE(R, 1, UINT, rev_bytes, 0, 4),                 /* reverseOctetDeltaCount */
    IE(R, 2, UINT, rev_packets, 0, 4),               /* reversePacketDeltaCount */
    IE(R, 6, UINT, rev_tcp_flags, 0, 1),             /* reverseTcpControlBits */
    IE(R, 85, UINT, rev_bytes, 0, 1),                /* reverseOctetTotalCount */
    IE(R, 86, UINT, rev_packets, 0, 1),              /* reversePacketTotalCount */
};

const tpl_ie_t *tpl_ie_find(uint32_t pen, uint16_t id)
{
    /* Used only when a template is compiled, so a scan of ~70 entries is fine. */
    for (size_t i = 0; i < sizeof tpl_ies / sizeof tpl_ies[0]; i++)
        if (tpl_ies[i].id == id && tpl_ies[i].pen == pen)
            return &tpl_ies[i];
    return NULL;
}
