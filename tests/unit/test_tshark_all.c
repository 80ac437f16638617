/* test_tshark_all.c: all 61 captures of real exporters under ../shared/data/netflow/, decoded
 * by flowhuntd and by tshark and compared flow by flow on every column both decode.
 *
 * What it proves. For each capture, `flowhuntd --read F --print csv` emits the data records
 * tshark's cflow dissector decodes, in the same order, and every column tshark also decodes
 * holds the value tshark shows: addresses, ports, protocol, TCP flags, packets and bytes (delta,
 * firewall initiator, post and total counters, RFC 5103 reverse counters), interfaces, AS
 * numbers, next hop, masks, ToS, direction, ICMP type and code, VLAN, end reason, firewall event,
 * NAT addresses and ports, start and end times in every encoding the captures use, the sampling
 * interval, the exporter and the observation domain. Our flow and options-record counts must be
 * the manifest's (../shared/data/MANIFEST.md), or the table below says why not.
 *
 * How tshark's view is read. `-T fields` prints one comma-joined list per field and frame,
 * across all records of the frame (options records too), so the lists of fields that not every
 * template has do not line up. `-T pdml` is used instead, read line by line (tshark writes one
 * element per line): each record is a "Flow N" (v9, IPFIX) or "pdu N/M" (v5) node holding its
 * fields, each template lists its field types, lengths and PENs, each data set names the frame
 * whose template it used, and every field has its byte position. The test works out, from the
 * template and the record's own bytes (variable-length fields included), where each template
 * field of a record lies, so it knows which element every tshark field came from. That matters:
 * tshark gives one name to several elements (tcp/udp ports 180-183 show as cflow.srcport and
 * cflow.dstport; enterprise elements of VMware, CERT, Ixia or Citrix as cflow.direction,
 * cflow.dstport or cflow.abstimeend). A tshark field counts only when it comes from an IANA
 * element the table ta_map pairs it with; start and end times, whose positions tshark reports
 * wrongly (an end time placed in another record), count by name when the template has one of
 * the IANA time elements. Records of options templates are not flows (flowhuntd prints data
 * records only): they are recognised by their template and used as we use them, for sampling
 * rates per sampler and for systemInitTimeMilliseconds.
 *
 * tshark quirks allowed for, each explained where it is handled: a sysUpTime time of 0 shown as
 * an absolute time at the epoch; IPFIX sysUpTime times shown relative, made absolute here with
 * the exporter's systemInitTimeMilliseconds as we do (and required absent from our output when
 * the exporter never sent one). Captures where tshark cannot decode what the bytes say get a
 * small, checked patch (ta_patch_t) that tshark can read: the patched capture must give exactly
 * our output for the original, and tshark's decode of it is compared with ours.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "flow.h"
#include "task.h"

/* ---- the captures ------------------------------------------------------------------------ */

/* A change that lets tshark read what the bytes say. Either a replacement (new_hex set) of
 * old_hex at byte `off` of frame `frame`, or a move: the `len` bytes at `off` (which must start
 * with old_hex) taken out and put back to end at frame offset `to`. Offsets count from the start
 * of the frame (its Ethernet header), as tshark's `pos` does. */
typedef struct ta_patch {
    unsigned frame, off;
    const char *old_hex, *new_hex;
    unsigned len, to;
} ta_patch_t;

typedef struct ta_cap {
    const char *file;        /* under ../shared/data/netflow/ */
    unsigned records;        /* the manifest's count: data + options records tshark decodes */
    unsigned flows, options; /* what we decode: flows printed, options records read */
    unsigned held_flows;     /* of those flows, decoded from data held for a later template */
    unsigned waiting;        /* data sets whose template never came: nobody decodes them */
    int no_tshark;           /* compare counts only (see `why`) */
    const ta_patch_t *patches;
    const char *why; /* required when flows + options != records */
} ta_cap_t;

/* nf9_data+templates_samepacket.pcap, one v9 datagram: [data set 257 (11 records, 664 bytes at
 * frame offset 62)] [options template 256] [options data 256] [template 257] [data set 257 (10
 * records)]. tshark decodes a data set only with a template seen before it, so it shows
 * "no template found" for the first set. We hold that set and decode it when template 257
 * arrives (RFC 3954 section 9). Moving the set to just after template 257 (frame offset 854)
 * puts it where we decode it; the UDP checksum (0x0027) no longer holds and becomes 0 (none). */
static const ta_patch_t ta_patch_samepacket[] = {
    {1, 62, "01010298", NULL, 664, 854},
    {1, 40, "0027", "0000", 0, 0},
    {0, 0, NULL, NULL, 0, 0},
};

/* nf9_h3c*.pcap: template 3281 has field 22 of type 43 with length 2. Type 43 is "assigned for
 * NetFlow v9 compatibility" in the IANA registry (vendor use, RFC 3954 8): its length is what
 * the template says. tshark decodes type 43 as IPV4_ROUTER_SC, an IPv4 address, and throws on
 * a 2-byte one ("Trying to fetch an IPv4 address with length 2", the manifest's malformed
 * lines), abandoning the rest of the datagram after the first record's 21st field. The records
 * are whole by the template's lengths: 16 of 85 bytes in the 1364-byte set of nf9_h3c, one
 * with a 1-byte VRFname (type 236, variable length) in nf9_h3c_netstream_varstring. Renaming
 * the field type 0 (reserved: tshark shows it as unknown bytes, we skip it as we skip 43) at
 * frame offset 154 lets tshark read every record. */
static const ta_patch_t ta_patch_h3c[] = {
    {1, 154, "002b", "0000", 0, 0},
    {0, 0, NULL, NULL, 0, 0},
};

/* nf9_invalid01.pcap: the header's count (frame offset 44) says 2, but the datagram carries,
 * by its FlowSet lengths, 2 templates, 1 options template, 1 options record (interval 100) and
 * 2 data records (one IPv6, one IPv4), with their padding, to the last byte. RFC 3954 5.1
 * defines count as all of them (6). tshark stops after `count` records, so it sees the two
 * templates only; we parse by lengths (nf9.c: the count is not trusted). With the count made 6
 * tshark decodes the same 2 flows and 1 options record we do. */
static const ta_patch_t ta_patch_invalid01[] = {
    {1, 44, "0002", "0006", 0, 0},
    {0, 0, NULL, NULL, 0, 0},
};

#define TA_DIR_AKVORADO "netflow/akvorado"
#define TA_DIR_LOGSTASH "netflow/logstash-codec-netflow"

static const ta_cap_t ta_caps[] = {
    {"akvorado/datalink.pcap", 1, 1, 0, 0, 0, 0, NULL, NULL},
    {"akvorado/ethernet-over-mpls-cw.pcap", 10, 10, 0, 0, 0, 0, NULL, NULL},
    {"akvorado/icmp.pcap", 4, 4, 0, 0, 0, 0, NULL, NULL},
    {"akvorado/ipfix-srv6.pcap", 1, 1, 0, 0, 0, 0, NULL, NULL},
    {"akvorado/ipfixprobe.pcap", 4, 4, 0, 0, 0, 0, NULL, NULL},
    {"akvorado/juniper-cpid.pcap", 1, 1, 0, 0, 0, 0, NULL, NULL},
    {"akvorado/mpls.pcap", 3, 2, 1, 0, 0, 0, NULL, NULL},
    {"akvorado/multiplesamplingrates.pcap", 14, 12, 2, 0, 0, 0, NULL, NULL},
    {"akvorado/nat.pcap", 9, 9, 0, 0, 0, 0, NULL, NULL},
    {"akvorado/nf9_data+templates_samepacket.pcap", 11, 21, 1, 11, 0, 0, ta_patch_samepacket,
     "the first data set (11 records) precedes its template in the datagram: tshark cannot "
     "decode it, the manifest counts the 10 + 1 records after the templates, we hold it and "
     "decode it when template 257 arrives"},
    {"akvorado/nf9_template+data.pcap", 4, 4, 0, 0, 0, 0, NULL, NULL},
    {"akvorado/nfv5.pcap", 29, 29, 0, 0, 0, 0, NULL, NULL},
    {"akvorado/options.pcap", 4, 0, 4, 0, 0, 0, NULL, NULL},
    {"akvorado/physicalinterfaces.pcap", 9, 8, 1, 0, 0, 0, NULL, NULL},
    {"akvorado/samplingrate.pcap", 6, 6, 0, 0, 0, 0, NULL, NULL},

    {"logstash-codec-netflow/ipfix_barracuda.pcap", 8, 8, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/ipfix_barracuda_ext_uniflow.pcap", 2, 2, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/ipfix_ixia.pcap", 3, 3, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/ipfix_juniper_mx240.pcap", 1, 0, 1, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/ipfix_logstash_generic.pcap", 13, 12, 1, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/ipfix_mikrotik_ros6392.pcap", 46, 46, 0, 0, 0, 0, NULL, NULL},
    /* Data of a template that is never sent: "no template found" in tshark too. */
    {"logstash-codec-netflow/ipfix_netscaler_varlen.pcap", 3, 3, 0, 0, 1, 0, NULL, NULL},
    {"logstash-codec-netflow/ipfix_nokia_bras.pcap", 1, 1, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/ipfix_openbsd_pflow.pcap", 26, 26, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/ipfix_procera.pcap", 8, 8, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/ipfix_viptela.pcap", 1, 1, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/ipfix_vmware_vds.pcap", 5, 5, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/ipfix_yaf_applabel.pcap", 3, 2, 1, 0, 0, 0, NULL, NULL},
    /* The v5 header count (55582, 163) disagrees with the 1464-byte datagram (24 + 30 * 48).
     * tshark decodes the 30 records the bytes hold; we drop the datagram whole and count it as
     * v5_length_mismatch: count is v5's only framing, so neither it nor the records can be
     * trusted (nf5.c; also asserted by nf5_invalid_captures_dropped). */
    {"logstash-codec-netflow/nf5_invalid01.pcap", 30, 0, 0, 0, 0, 1, NULL,
     "bogus v5 count 55582: dropped whole, v5_length_mismatch"},
    {"logstash-codec-netflow/nf5_invalid02.pcap", 30, 0, 0, 0, 0, 1, NULL,
     "bogus v5 count 163: dropped whole, v5_length_mismatch"},
    {"logstash-codec-netflow/nf5_juniper_mx80.pcap", 29, 29, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf5_logstash_generic.pcap", 30, 30, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf5_mikrotik.pcap", 30, 30, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_0length_fields.pcap", 10, 10, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_cisco_1941k9.pcap", 29, 29, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_cisco_aci.pcap", 3, 3, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_cisco_asa_1.pcap", 14, 14, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_cisco_asa_2.pcap", 19, 19, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_cisco_asr1001x_tpl.pcap", 25, 25, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_cisco_asr9k.pcap", 40, 21, 19, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_cisco_nbar.pcap", 20, 5, 15, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_cisco_wlc.pcap", 19, 19, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_cisco_wlc8510_tpl.pcap", 0, 0, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_fortigate_521.pcap", 2, 1, 1, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_fortigate_542_appid.pcap", 17, 17, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_h3c.pcap", 0, 16, 0, 0, 0, 0, ta_patch_h3c,
     "tshark throws on field type 43 of length 2 (see ta_patch_h3c); the 16 records are whole"},
    {"logstash-codec-netflow/nf9_h3c_netstream_varstring.pcap", 0, 1, 0, 0, 0, 0, ta_patch_h3c,
     "tshark throws on field type 43 of length 2 (see ta_patch_h3c); the record is whole"},
    {"logstash-codec-netflow/nf9_huawei_netstream.pcap", 1, 1, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_invalid01.pcap", 0, 2, 1, 0, 0, 0, ta_patch_invalid01,
     "header count 2 for 6 records: tshark stops after 2 (see ta_patch_invalid01)"},
    /* Six data sets of templates that are never sent (tshark: unresolved template). */
    {"logstash-codec-netflow/nf9_iptnetflow.pcap", 12, 12, 0, 0, 6, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_juniper_srx_opttpl.pcap", 1, 0, 1, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_layer2segmentid.pcap", 1, 1, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_macaddr.pcap", 30, 29, 1, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_nprobe.pcap", 2, 1, 1, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_nprobe_dpi.pcap", 1, 1, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_paloalto_81.pcap", 1, 1, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_paloalto_panos_appid.pcap", 8, 8, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_softflowd.pcap", 7, 7, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_streamcore.pcap", 4, 4, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_ubnt_edgerouter_mpls.pcap", 16, 16, 0, 0, 0, 0, NULL, NULL},
    {"logstash-codec-netflow/nf9_unknown_ie150_151.pcap", 2, 2, 0, 0, 0, 0, NULL, NULL},
};

#define TA_N_CAPS (sizeof ta_caps / sizeof ta_caps[0])
_Static_assert(TA_N_CAPS == 61, "the decoding issue names 61 captures");

/* ---- tshark's fields and our columns ------------------------------------------------------ */

typedef enum ta_kind {
    TA_K_NUM,  /* unsigned integer (decimal or 0x hex) */
    TA_K_LOW8, /* the low byte: tcpControlBits may be 2 bytes (RFC 7125), our column is 8 bits */
    TA_K_ADDR, /* IPv4 or IPv6 address */
    TA_K_ICMP, /* type * 256 + code, into icmp_type and icmp_code */
    TA_K_REL,  /* seconds of sysUpTime */
    TA_K_ABS,  /* an absolute time, "Oct  9, 2015 09:47:47.569000000 UTC" */
    TA_K_INTERVAL, /* a sampling interval (1 in N) */
    TA_K_SPACE,    /* PSAMP samplingPacketSpace */
    TA_K_SAMPLER,  /* sampler or selector id */
    TA_K_SYSINIT,  /* systemInitTimeMilliseconds, an absolute time */
} ta_kind_t;

#define TA_PEN_REVERSE 29305u
#define TA_PEN_SCOPE 0xffffffffu /* v9 options scope fields: a namespace of their own */

/* One tshark field, the IANA elements it may decode (PEN 0, or 29305 for the reverse ones), and
 * the column it is compared with. `prio` follows collector/decode/tpl_ie.c: of several fields
 * for one column, flowhuntd keeps the highest (delta counts, then firewall initiator counts,
 * then post counts, then totals; absolute times before sysUpTime ones), so the tshark value
 * compared is the one of the same element. */
typedef struct ta_map {
    const char *name;
    uint8_t rev; /* 1: an RFC 5103 reverse element, "(Reverse Type ...)" in tshark */
    int8_t col;  /* FLOW_COL_*, or -1 for sampling and system init time */
    uint8_t prio;
    uint8_t kind;
    uint16_t ies[6]; /* 0 ends the list */
} ta_map_t;

#define C(name) FLOW_COL_##name
static const ta_map_t ta_map[] = {
    {"cflow.srcaddr", 0, C(src_addr), 1, TA_K_ADDR, {8}},
    {"cflow.srcaddrv6", 0, C(src_addr), 1, TA_K_ADDR, {27}},
    {"cflow.dstaddr", 0, C(dst_addr), 1, TA_K_ADDR, {12}},
    {"cflow.dstaddrv6", 0, C(dst_addr), 1, TA_K_ADDR, {28}},
    {"cflow.srcport", 0, C(src_port), 1, TA_K_NUM, {7}},
    {"cflow.dstport", 0, C(dst_port), 1, TA_K_NUM, {11}},
    {"cflow.protocol", 0, C(proto), 1, TA_K_NUM, {4}},
    {"cflow.tcpflags", 0, C(tcp_flags), 1, TA_K_LOW8, {6}},
    {"cflow.packets", 0, C(packets), 4, TA_K_NUM, {2}},
    {"cflow.initiator_packets", 0, C(packets), 3, TA_K_NUM, {298}},
    {"cflow.post_packets", 0, C(packets), 2, TA_K_NUM, {24}},
    {"cflow.permanent_packets", 0, C(packets), 1, TA_K_NUM, {86}},
    {"cflow.octets", 0, C(bytes), 4, TA_K_NUM, {1}},
    {"cflow.initiator_octets", 0, C(bytes), 3, TA_K_NUM, {231}},
    {"cflow.post_octets", 0, C(bytes), 2, TA_K_NUM, {23}},
    {"cflow.permanent_octets", 0, C(bytes), 1, TA_K_NUM, {85}},
    {"cflow.inputint", 0, C(in_if), 1, TA_K_NUM, {10}},
    {"cflow.outputint", 0, C(out_if), 1, TA_K_NUM, {14}},
    {"cflow.srcas", 0, C(src_as), 1, TA_K_NUM, {16}},
    {"cflow.dstas", 0, C(dst_as), 1, TA_K_NUM, {17}},
    {"cflow.nexthop", 0, C(next_hop), 1, TA_K_ADDR, {15}},
    {"cflow.nexthopv6", 0, C(next_hop), 1, TA_K_ADDR, {62}},
    {"cflow.srcmask", 0, C(src_mask), 1, TA_K_NUM, {9}},
    {"cflow.srcmaskv6", 0, C(src_mask), 1, TA_K_NUM, {29}},
    {"cflow.dstmask", 0, C(dst_mask), 1, TA_K_NUM, {13}},
    {"cflow.dstmaskv6", 0, C(dst_mask), 1, TA_K_NUM, {30}},
    {"cflow.tos", 0, C(tos), 1, TA_K_NUM, {5}},
    {"cflow.direction", 0, C(direction), 1, TA_K_NUM, {61}},
    {"cflow.icmp_type_code_ipv4", 0, C(icmp_type), 1, TA_K_ICMP, {32}},
    {"cflow.icmp_ipv4_type", 0, C(icmp_type), 1, TA_K_NUM, {176}},
    {"cflow.icmp_ipv4_code", 0, C(icmp_code), 1, TA_K_NUM, {177}},
    /* tshark splits icmpTypeCodeIPv6 (139) into its two bytes */
    {"cflow.icmp_ipv6_type", 0, C(icmp_type), 1, TA_K_NUM, {178, 139}},
    {"cflow.icmp_ipv6_code", 0, C(icmp_code), 1, TA_K_NUM, {179, 139}},
    {"cflow.vlanid", 0, C(vlan), 1, TA_K_NUM, {58}},
    {"cflow.dot1q_vlan_id", 0, C(vlan), 0, TA_K_NUM, {243}},
    {"cflow.flow_end_reason", 0, C(end_reason), 1, TA_K_NUM, {136}},
    {"cflow.packets", 1, C(rev_packets), 4, TA_K_NUM, {2}},
    {"cflow.responder_packets", 0, C(rev_packets), 3, TA_K_NUM, {299}},
    {"cflow.permanent_packets", 1, C(rev_packets), 1, TA_K_NUM, {86}},
    {"cflow.octets", 1, C(rev_bytes), 4, TA_K_NUM, {1}},
    {"cflow.responder_octets", 0, C(rev_bytes), 3, TA_K_NUM, {232}},
    {"cflow.permanent_octets", 1, C(rev_bytes), 1, TA_K_NUM, {85}},
    {"cflow.firewall_event", 0, C(fw_event), 2, TA_K_NUM, {233}},
    {"cflow.firewall_event", 0, C(fw_event), 1, TA_K_NUM, {40005}},
    {"cflow.post_natsource_ipv4_address", 0, C(nat_src_addr), 1, TA_K_ADDR, {225, 40001}},
    {"cflow.post_natdestination_ipv4_address", 0, C(nat_dst_addr), 1, TA_K_ADDR, {226, 40002}},
    {"cflow.post_nat_source_ipv6_address", 0, C(nat_src_addr), 1, TA_K_ADDR, {281}},
    {"cflow.post_nat_destination_ipv6_address", 0, C(nat_dst_addr), 1, TA_K_ADDR, {282}},
    {"cflow.post_naptsource_transport_port", 0, C(nat_src_port), 1, TA_K_NUM, {227, 40003}},
    {"cflow.post_naptdestination_transport_port", 0, C(nat_dst_port), 1, TA_K_NUM, {228, 40004}},
    /* Times: matched by name (tshark's positions for them are unreliable), when the template
     * has one of the elements. tshark shows a sysUpTime time (21, 22) of 0 as an absolute time
     * (the epoch), hence 21 and 22 among the absolute ones. */
    {"cflow.timestart", 0, C(time_start), 1, TA_K_REL, {22}},
    {"cflow.timeend", 0, C(time_end), 1, TA_K_REL, {21}},
    {"cflow.abstimestart", 0, C(time_start), 2, TA_K_ABS, {150, 152, 154, 156, 22}},
    {"cflow.abstimeend", 0, C(time_end), 2, TA_K_ABS, {151, 153, 155, 157, 21}},
    {"cflow.sampling_interval", 0, -1, 0, TA_K_INTERVAL, {34}},
    {"cflow.sampler_random_interval", 0, -1, 0, TA_K_INTERVAL, {50}},
    {"cflow.sampling_packet_interval", 0, -1, 0, TA_K_INTERVAL, {305}},
    {"cflow.sampling_packet_space", 0, -1, 0, TA_K_SPACE, {306}},
    {"cflow.sampler_id", 0, -1, 0, TA_K_SAMPLER, {48}},
    {"cflow.selector_id", 0, -1, 0, TA_K_SAMPLER, {302}},
    {"cflow.sys_init_time", 0, -1, 0, TA_K_SYSINIT, {160}},
};
#undef C

#define TA_N_MAP (sizeof ta_map / sizeof ta_map[0])

static int ta_map_has_ie(const ta_map_t *m, uint16_t id)
{
    for (size_t i = 0; i < sizeof m->ies / sizeof m->ies[0] && m->ies[i]; i++)
        if (m->ies[i] == id)
            return 1;
    return 0;
}

/* ---- reading tshark's PDML -------------------------------------------------------------- */

typedef struct ta_tfield {
    uint16_t id, len;
    uint32_t pen;
} ta_tfield_t;

typedef struct ta_tpl {
    unsigned frame, id;
    int is_options;
    unsigned n;
    ta_tfield_t *f;
} ta_tpl_t;

typedef struct ta_item {
    char name[64];
    char show[96];
    uint8_t rev;
    long pos;
} ta_item_t;

/* A value tshark decoded for one column. */
typedef struct ta_val {
    uint8_t have;
    uint8_t prio;
    uint8_t rel;            /* times: `u` is ms of sysUpTime, not yet absolute */
    uint8_t must_be_absent; /* a sysUpTime time the exporter gave no origin for */
    uint64_t u;
    flow_addr_t a;
} ta_val_t;

typedef struct ta_tflow {
    unsigned frame, rec;
    ta_val_t v[FLOW_N_COLS];
} ta_tflow_t;

/* What options data taught tshark's side, per (exporter, version, domain), as flowhuntd's
 * template scopes learn it (collector/decode/tpl.c: tpl_learn_options). */
typedef struct ta_scope {
    char exporter[FLOW_ADDR_STRLEN];
    unsigned version;
    uint32_t domain;
    uint64_t sysinit_ms;
    uint32_t default_interval;
    unsigned n_samplers;
    struct {
        uint64_t id;
        uint32_t n;
    } samplers[32];
} ta_scope_t;

typedef struct ta_pdml {
    /* the packet */
    unsigned frame;
    char exporter[FLOW_ADDR_STRLEN];
    int in_cflow, proto_depth, cflow_proto_depth, depth;
    /* the export header */
    unsigned version;
    uint64_t uptime_ms, export_secs, export_nsecs;
    uint32_t domain;
    unsigned engine_type, engine_id, samplerate;
    /* the set, template and record being read (depth of their node, 0 when none) */
    int set_depth, tpl_depth, rec_depth;
    unsigned set_id, set_tf, rec_no;
    ta_tpl_t cur;
    unsigned cur_cap;
    uint16_t pend_id; /* the field type read, waiting for its length */
    int pend_scope;
    long rec_pos;
    uint8_t *rec_bytes;
    size_t rec_len, rec_cap;
    ta_item_t *items;
    size_t n_items, cap_items;
    /* results */
    ta_tpl_t *tpls;
    size_t n_tpls, cap_tpls;
    ta_scope_t *scopes;
    size_t n_scopes, cap_scopes;
    ta_tflow_t *flows;
    size_t n_flows, cap_flows;
    unsigned n_options; /* options records tshark decoded */
    unsigned n_skipped; /* tshark fields of the table not compared: not from its elements */
} ta_pdml_t;

static void *ta_grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(p, ncap * size);
    ASSERT_NOT_NULL(np);
    *cap = ncap;
    return np;
}

/* The value of attribute `key` (given as ` name="`) of a PDML line, XML entities decoded,
 * truncated to cap - 1; -1 when the line has no such attribute. */
static int ta_attr(const char *line, const char *key, char *out, size_t cap)
{
    const char *p = strstr(line, key);
    if (!p)
        return -1;
    p += strlen(key);
    size_t n = 0;
    while (*p && *p != '"') {
        char c = *p++;
        if (c == '&') {
            static const struct {
                const char *ent;
                char c;
            } ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
            for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
                size_t el = strlen(ents[i].ent);
                if (strncmp(p, ents[i].ent, el) == 0) {
                    c = ents[i].c;
                    p += el;
                    break;
                }
            }
        }
        if (n + 1 < cap)
            out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

static long ta_attr_long(const char *line, const char *key)
{
    char buf[32];
    if (ta_attr(line, key, buf, sizeof buf) != 0)
        return -1;
    return strtol(buf, NULL, 10);
}

static int ta_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes hex into out (cap bytes); returns the byte count, or -1 on a bad digit. */
static long ta_unhex(const char *hex, size_t hex_len, uint8_t *out, size_t cap)
{
    if (hex_len % 2 || hex_len / 2 > cap)
        return -1;
    for (size_t i = 0; i < hex_len / 2; i++) {
        int hi = ta_hexval(hex[2 * i]), lo = ta_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(hex_len / 2);
}

/* "2395375.053000000" seconds as milliseconds (truncated, as tshark prints whole ms here). */
static uint64_t ta_secs_ms(const char *s)
{
    char *end;
    uint64_t ms = strtoull(s, &end, 10) * 1000;
    if (*end == '.') {
        uint64_t mult = 100;
        for (const char *p = end + 1; *p >= '0' && *p <= '9' && mult; p++, mult /= 10)
            ms += (uint64_t)(*p - '0') * mult;
    }
    return ms;
}

/* tshark's absolute time, "Oct  9, 2015 09:47:47.569000000 UTC" (tshark runs with TZ=UTC), as
 * ms since the epoch, sub-millisecond digits dropped as flowhuntd drops them; -1 if unreadable. */
static int64_t ta_abs_ms(const char *s)
{
    static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char mon[4], frac[16], zone[8];
    int d, y, hh, mm, ss;
    if (sscanf(s, "%3s %d, %d %d:%d:%d.%15[0-9] %7s", mon, &d, &y, &hh, &mm, &ss, frac, zone) !=
            8 ||
        strcmp(zone, "UTC") != 0)
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_mon = -1;
    for (int i = 0; i < 12; i++)
        if (strcmp(mon, mons[i]) == 0)
            tm.tm_mon = i;
    if (tm.tm_mon < 0)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mday = d;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    int64_t mult = 100;
    for (const char *p = frac; *p && mult; p++, mult /= 10)
        ms += (*p - '0') * mult;
    return ms;
}

static ta_scope_t *ta_scope(ta_pdml_t *st)
{
    uint32_t domain = st->version == 5 ? (st->engine_type << 8 | st->engine_id) : st->domain;
    for (size_t i = 0; i < st->n_scopes; i++) {
        ta_scope_t *s = &st->scopes[i];
        if (s->version == st->version && s->domain == domain &&
            strcmp(s->exporter, st->exporter) == 0)
            return s;
    }
    st->scopes = ta_grow(st->scopes, &st->cap_scopes, st->n_scopes + 1, sizeof *st->scopes);
    ta_scope_t *s = &st->scopes[st->n_scopes++];
    memset(s, 0, sizeof *s);
    snprintf(s->exporter, sizeof s->exporter, "%s", st->exporter);
    s->version = st->version;
    s->domain = domain;
    return s;
}

static const ta_tpl_t *ta_tpl_find(const ta_pdml_t *st, unsigned frame, unsigned id)
{
    for (size_t i = st->n_tpls; i-- > 0;)
        if (st->tpls[i].frame == frame && st->tpls[i].id == id)
            return &st->tpls[i];
    return NULL;
}

/* Puts a value in, by the rule flowhuntd follows: a higher priority wins, an equal one
 * replaces (the later field of the record), except that a zero address never replaces one that
 * is there (templates with both an IPv4 and an IPv6 field fill the unused one with zeros). */
static void ta_put(ta_val_t *v, const ta_map_t *m, uint64_t u, const flow_addr_t *a, int rel)
{
    if (v->have && v->prio > m->prio)
        return;
    if (a && v->have && v->prio == m->prio) {
        static const uint8_t zero4[4], zero16[16];
        if (flow_addr_is_v4(a) ? memcmp(a->b + 12, zero4, 4) == 0 : memcmp(a->b, zero16, 16) == 0)
            return;
    }
    v->have = 1;
    v->prio = m->prio;
    v->rel = (uint8_t)rel;
    v->u = u;
    if (a)
        v->a = *a;
}

typedef struct ta_samp {
    uint64_t interval, space, sampler, sysinit;
    uint8_t have_interval, have_space, have_sampler, have_sysinit;
} ta_samp_t;

/* As flowhuntd's tpl_interval: PSAMP count-based sampling takes `interval` packets and skips
 * `space`, so 1 in (interval + space) / interval. */
static uint32_t ta_interval(const ta_samp_t *s)
{
    if (!s->interval)
        return 0;
    uint64_t n = s->have_space ? (s->interval + s->space) / s->interval : s->interval;
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* Where each template field of the record being read starts, as a frame offset (-1 for
 * variable-length fields, never compared): fixed lengths from the template, variable ones
 * (RFC 7011 7) from their length prefix in the record's own bytes. */
static long *ta_field_starts(const ta_pdml_t *st, const ta_tpl_t *t)
{
    long *starts = calloc(t->n ? t->n : 1, sizeof *starts);
    ASSERT_NOT_NULL(starts);
    size_t off = 0;
    for (unsigned i = 0; i < t->n; i++) {
        size_t len = t->f[i].len;
        starts[i] = -1;
        if (len == 65535) {
            if (off >= st->rec_len)
                continue;
            len = st->rec_bytes[off++];
            if (len == 255 && off + 2 <= st->rec_len) {
                len = (size_t)st->rec_bytes[off] << 8 | st->rec_bytes[off + 1];
                off += 2;
            }
        } else {
            starts[i] = st->rec_pos + (long)off;
        }
        off += len;
    }
    return starts;
}

/* The table row a tshark field of a record counts under, or NULL (`*named` set when its name
 * is in the table but its bytes are not one of the row's elements). v5 (t == NULL) has one
 * record layout: its names are unambiguous. */
static const ta_map_t *ta_item_row(const ta_tpl_t *t, const long *starts, const ta_item_t *it,
                                   int *named)
{
    int fi = -1;
    for (unsigned i = 0; t && i < t->n; i++)
        if (starts[i] >= 0 && it->pos >= starts[i] && it->pos < starts[i] + t->f[i].len)
            fi = (int)i;
    for (size_t j = 0; j < TA_N_MAP; j++) {
        const ta_map_t *m = &ta_map[j];
        if (strcmp(m->name, it->name) != 0 || m->rev != it->rev)
            continue;
        *named = 1;
        if (!t)
            return m;
        if (m->kind == TA_K_REL || m->kind == TA_K_ABS) {
            /* By name, unless its position (unreliable for times) is an enterprise field. */
            int in_tpl = 0;
            for (unsigned i = 0; i < t->n; i++)
                in_tpl |= t->f[i].pen == 0 && ta_map_has_ie(m, t->f[i].id);
            if (in_tpl && (fi < 0 || t->f[fi].pen == 0))
                return m;
        } else if (fi >= 0 && t->f[fi].pen == (m->rev ? TA_PEN_REVERSE : 0) &&
                   ta_map_has_ie(m, t->f[fi].id)) {
            return m;
        }
    }
    return NULL;
}

/* Puts tshark's value of one field into the flow being built, or into the sampling facts. */
static void ta_item_value(const ta_pdml_t *st, const ta_map_t *m, const ta_item_t *it,
                          ta_tflow_t *fl, ta_samp_t *sm)
{
    if (m->kind == TA_K_ADDR) {
        flow_addr_t a;
        if (flow_addr_parse(&a, it->show) != 0)
            TEST_FAIL_AT("frame %u: tshark %s = \"%s\" is not an address", st->frame, it->name,
                         it->show);
        ta_put(&fl->v[m->col], m, 0, &a, 0);
        return;
    }
    if (m->kind == TA_K_REL) {
        ta_put(&fl->v[m->col], m, ta_secs_ms(it->show), NULL, 1);
        return;
    }
    if (m->kind == TA_K_ABS || m->kind == TA_K_SYSINIT) {
        int64_t ms = ta_abs_ms(it->show);
        if (ms < 0)
            TEST_FAIL_AT("frame %u: tshark %s = \"%s\" is not a time", st->frame, it->name,
                         it->show);
        if (m->kind == TA_K_SYSINIT) {
            sm->sysinit = (uint64_t)ms;
            sm->have_sysinit = 1;
        } else if (ms == 0) {
            /* tshark's quirk: a sysUpTime time (21, 22) of 0 is shown as the epoch. No flow
             * of these captures started at 1970-01-01 00:00:00.000. */
            static const ta_map_t rel0 = {"", 0, 0, 1, TA_K_REL, {0}};
            ta_put(&fl->v[m->col], &rel0, 0, NULL, 1);
        } else {
            ta_put(&fl->v[m->col], m, (uint64_t)ms, NULL, 0);
        }
        return;
    }
    uint64_t u = strtoull(it->show, NULL, 0);
    switch (m->kind) {
    case TA_K_LOW8:
        ta_put(&fl->v[m->col], m, u & 0xff, NULL, 0);
        break;
    case TA_K_ICMP:
        ta_put(&fl->v[FLOW_COL_icmp_type], m, u >> 8 & 0xff, NULL, 0);
        ta_put(&fl->v[FLOW_COL_icmp_code], m, u & 0xff, NULL, 0);
        break;
    case TA_K_INTERVAL:
        sm->interval = u;
        sm->have_interval = 1;
        break;
    case TA_K_SPACE:
        sm->space = u;
        sm->have_space = 1;
        break;
    case TA_K_SAMPLER:
        sm->sampler = u;
        sm->have_sampler = 1;
        break;
    default:
        ta_put(&fl->v[m->col], m, u, NULL, 0);
        break;
    }
}

/* What an options record teaches the scope (tpl_learn_options). */
static void ta_learn_options(ta_scope_t *sc, const ta_samp_t *sm)
{
    if (sm->have_sysinit && sm->sysinit)
        sc->sysinit_ms = sm->sysinit;
    if (!sm->have_interval)
        return;
    uint32_t n = ta_interval(sm);
    if (!sm->have_sampler) {
        sc->default_interval = n;
        return;
    }
    for (unsigned i = 0; i < sc->n_samplers; i++) {
        if (sc->samplers[i].id == sm->sampler) {
            sc->samplers[i].n = n;
            return;
        }
    }
    ASSERT_LT(sc->n_samplers, sizeof sc->samplers / sizeof sc->samplers[0]);
    sc->samplers[sc->n_samplers].id = sm->sampler;
    sc->samplers[sc->n_samplers++].n = n;
}

/* Completes a data record from the header and the scope, and keeps it. */
static void ta_keep_flow(ta_pdml_t *st, const ta_scope_t *sc, ta_tflow_t *fl, const ta_samp_t *sm)
{
    /* Times: v5 and v9 count sysUpTime back from the header's (ms before the export time,
     * 32-bit wrap); IPFIX forward from systemInitTimeMilliseconds, of the record or of the
     * exporter's options data. With neither, we cannot place the time and must print none. */
    uint64_t export_ms = st->export_secs * 1000 + st->export_nsecs / 1000000;
    for (int k = FLOW_COL_time_start; k <= FLOW_COL_time_end; k++) {
        ta_val_t *v = &fl->v[k];
        if (!v->have || !v->rel)
            continue;
        if (st->version != 10) {
            int64_t d = test_uptime_behind((uint32_t)st->uptime_ms, (uint32_t)v->u);
            v->u = (uint64_t)((int64_t)export_ms - d);
        } else if (sm->have_sysinit || sc->sysinit_ms) {
            v->u += sm->have_sysinit ? sm->sysinit : sc->sysinit_ms;
        } else {
            v->must_be_absent = 1;
        }
    }
    /* Sampling: the record's own interval, else its sampler's, else the domain's, else 1
     * (tpl_record_interval); v5 has it in the header. */
    uint32_t n = 0;
    if (st->version == 5) {
        n = st->samplerate;
    } else {
        n = sm->have_interval ? ta_interval(sm) : 0;
        for (unsigned i = 0; !n && sm->have_sampler && i < sc->n_samplers; i++)
            if (sc->samplers[i].id == sm->sampler)
                n = sc->samplers[i].n;
        if (!n)
            n = sc->default_interval;
    }
    fl->v[FLOW_COL_sampling].have = 1;
    fl->v[FLOW_COL_sampling].u = n ? n : 1;
    fl->v[FLOW_COL_obs_domain].have = 1;
    fl->v[FLOW_COL_obs_domain].u = sc->domain;
    fl->v[FLOW_COL_exporter].have = 1;
    if (flow_addr_parse(&fl->v[FLOW_COL_exporter].a, st->exporter) != 0)
        TEST_FAIL_AT("frame %u: no IP source address for the exporter", st->frame);
    st->flows = ta_grow(st->flows, &st->cap_flows, st->n_flows + 1, sizeof *st->flows);
    st->flows[st->n_flows++] = *fl;
}

/* A record node closed: a flow (data record), or options data to learn from. */
static void ta_finish_record(ta_pdml_t *st, int is_v5)
{
    const ta_tpl_t *t = NULL;
    long *starts = NULL;
    if (!is_v5) {
        t = ta_tpl_find(st, st->set_tf, st->set_id);
        if (!t)
            TEST_FAIL_AT("frame %u: tshark decoded a record of template %u from frame %u, which "
                         "this test did not see defined",
                         st->frame, st->set_id, st->set_tf);
        starts = ta_field_starts(st, t);
    }
    ta_tflow_t fl;
    ta_samp_t sm;
    memset(&fl, 0, sizeof fl);
    memset(&sm, 0, sizeof sm);
    fl.frame = st->frame;
    fl.rec = st->rec_no;
    for (size_t k = 0; k < st->n_items; k++) {
        int named = 0;
        const ta_map_t *m = ta_item_row(t, starts, &st->items[k], &named);
        if (m)
            ta_item_value(st, m, &st->items[k], &fl, &sm);
        else
            st->n_skipped += (unsigned)named;
    }
    free(starts);
    ta_scope_t *sc = ta_scope(st);
    if (t && t->is_options) {
        st->n_options++; /* options data is not a flow */
        ta_learn_options(sc, &sm);
        return;
    }
    ta_keep_flow(st, sc, &fl, &sm);
}

static void ta_header_field(ta_pdml_t *st, const char *name, const char *show)
{
    if (strcmp(name, "cflow.version") == 0)
        st->version = (unsigned)strtoul(show, NULL, 10);
    else if (strcmp(name, "cflow.sysuptime") == 0)
        st->uptime_ms = ta_secs_ms(show);
    else if (strcmp(name, "cflow.unix_secs") == 0 || strcmp(name, "cflow.exporttime") == 0)
        st->export_secs = strtoull(show, NULL, 10);
    else if (strcmp(name, "cflow.unix_nsecs") == 0)
        st->export_nsecs = strtoull(show, NULL, 10);
    else if (strcmp(name, "cflow.source_id") == 0 || strcmp(name, "cflow.od_id") == 0)
        st->domain = (uint32_t)strtoul(show, NULL, 10);
    else if (strcmp(name, "cflow.engine_type") == 0)
        st->engine_type = (unsigned)strtoul(show, NULL, 10);
    else if (strcmp(name, "cflow.engine_id") == 0)
        st->engine_id = (unsigned)strtoul(show, NULL, 10);
    else if (strcmp(name, "cflow.samplerate") == 0)
        st->samplerate = (unsigned)strtoul(show, NULL, 10);
}

/* One <field ...> line inside the cflow protocol; `open` when it has children. */
static void ta_field(ta_pdml_t *st, const char *line, int open)
{
    char name[128], show[160];
    if (ta_attr(line, " name=\"", name, sizeof name) != 0)
        return;
    if (ta_attr(line, " show=\"", show, sizeof show) != 0)
        show[0] = '\0';

    if (st->rec_depth) {
        if (strncmp(name, "cflow.", 6) != 0 || strlen(name) >= sizeof st->items[0].name)
            return;
        char showname[256];
        if (ta_attr(line, " showname=\"", showname, sizeof showname) != 0)
            showname[0] = '\0';
        st->items = ta_grow(st->items, &st->cap_items, st->n_items + 1, sizeof *st->items);
        ta_item_t *it = &st->items[st->n_items++];
        ta_attr(line, " name=\"", it->name, sizeof it->name);
        ta_attr(line, " show=\"", it->show, sizeof it->show);
        it->rev = strstr(showname, "(Reverse Type") != NULL;
        it->pos = ta_attr_long(line, " pos=\"");
        return;
    }
    if (st->tpl_depth) {
        /* One length per field, in v9 and IPFIX alike; the type comes just before it under a
         * name that depends on the vendor (template_field_type, template_ipfix_field_type,
         * ..._enterprise, template_barracuda_field_type, scope_field_type, ...), an IPFIX PEN
         * just after it. */
        ta_tpl_t *t = &st->cur;
        if (strncmp(name, "cflow.template_", 15) == 0 && strstr(name, "field_type")) {
            st->pend_id = (uint16_t)strtoul(show, NULL, 10);
            st->pend_scope = 0;
        } else if (strcmp(name, "cflow.scope_field_type") == 0) {
            st->pend_id = (uint16_t)strtoul(show, NULL, 10);
            st->pend_scope = 1;
        } else if (strcmp(name, "cflow.template_field_length") == 0) {
            if (t->n == st->cur_cap) {
                st->cur_cap = st->cur_cap ? st->cur_cap * 2 : 32;
                t->f = realloc(t->f, st->cur_cap * sizeof *t->f);
                ASSERT_NOT_NULL(t->f);
            }
            t->f[t->n].id = st->pend_id;
            t->f[t->n].len = (uint16_t)strtoul(show, NULL, 10);
            t->f[t->n].pen = st->pend_scope ? TA_PEN_SCOPE : 0;
            t->n++;
        } else if (t->n && strcmp(name, "cflow.template_ipfix_field_pen") == 0) {
            t->f[t->n - 1].pen = (uint32_t)strtoul(show, NULL, 10);
        }
        return;
    }
    if (st->set_depth) {
        if (strcmp(name, "cflow.template_frame") == 0) {
            st->set_tf = (unsigned)strtoul(show, NULL, 10);
        } else if (name[0] == '\0' && open &&
                   (strncmp(show, "Template (Id = ", 15) == 0 ||
                    strncmp(show, "Options Template (Id = ", 23) == 0)) {
            st->tpl_depth = st->depth + 1;
            st->cur.frame = st->frame;
            st->cur.is_options = show[0] == 'O';
            st->cur.id = (unsigned)strtoul(strchr(show, '=') + 1, NULL, 10);
            st->cur.n = 0;
        } else if (name[0] == '\0' && strncmp(show, "Flow ", 5) == 0) {
            st->rec_no++;
            st->n_items = 0;
            st->rec_pos = ta_attr_long(line, " pos=\"");
            const char *v = strstr(line, " value=\"");
            st->rec_len = 0;
            if (v) {
                v += 8;
                size_t hl = strcspn(v, "\"");
                st->rec_bytes = ta_grow(st->rec_bytes, &st->rec_cap, hl / 2 + 1, 1);
                long n = ta_unhex(v, hl, st->rec_bytes, hl / 2 + 1);
                ASSERT_GE(n, 0);
                st->rec_len = (size_t)n;
            }
            if (open)
                st->rec_depth = st->depth + 1;
            else
                ta_finish_record(st, 0);
        }
        return;
    }
    if (name[0] == '\0' && open &&
        (strncmp(show, "FlowSet ", 8) == 0 || strncmp(show, "Set ", 4) == 0)) {
        const char *id = strstr(show, "[id=");
        st->set_depth = st->depth + 1;
        st->set_id = id ? (unsigned)strtoul(id + 4, NULL, 10) : 0;
        st->set_tf = 0;
        st->rec_no = 0;
        return;
    }
    if (name[0] == '\0' && open && strncmp(show, "pdu ", 4) == 0) {
        st->rec_no++;
        st->n_items = 0;
        st->rec_depth = st->depth + 1;
        return;
    }
    ta_header_field(st, name, show);
}

static void ta_close(ta_pdml_t *st)
{
    if (st->rec_depth && st->depth == st->rec_depth) {
        ta_finish_record(st, st->set_depth == 0);
        st->rec_depth = 0;
    } else if (st->tpl_depth && st->depth == st->tpl_depth) {
        st->tpls = ta_grow(st->tpls, &st->cap_tpls, st->n_tpls + 1, sizeof *st->tpls);
        ta_tpl_t *t = &st->tpls[st->n_tpls++];
        *t = st->cur;
        t->f = malloc((t->n ? t->n : 1) * sizeof *t->f);
        ASSERT_NOT_NULL(t->f);
        if (t->n)
            memcpy(t->f, st->cur.f, t->n * sizeof *t->f);
        st->tpl_depth = 0;
    } else if (st->set_depth && st->depth == st->set_depth) {
        st->set_depth = 0;
    }
}

static void ta_pdml_line(ta_pdml_t *st, const char *line)
{
    while (*line == ' ')
        line++;
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    int self_closing = len >= 2 && line[len - 2] == '/' && line[len - 1] == '>';
    if (strncmp(line, "<packet>", 8) == 0) {
        st->frame++;
        st->exporter[0] = '\0';
        st->in_cflow = 0;
        st->proto_depth = st->depth = 0;
    } else if (strncmp(line, "<proto ", 7) == 0) {
        if (self_closing)
            return;
        st->proto_depth++;
        char name[32];
        if (!st->in_cflow && ta_attr(line, " name=\"", name, sizeof name) == 0 &&
            strcmp(name, "cflow") == 0) {
            st->in_cflow = 1;
            st->cflow_proto_depth = st->proto_depth;
            st->depth = 0;
            st->version = st->engine_type = st->engine_id = st->samplerate = 0;
            st->uptime_ms = st->export_secs = st->export_nsecs = 0;
            st->domain = 0;
            st->set_depth = st->tpl_depth = st->rec_depth = 0;
        }
    } else if (strncmp(line, "</proto>", 8) == 0) {
        if (st->in_cflow && st->proto_depth == st->cflow_proto_depth)
            st->in_cflow = 0;
        st->proto_depth--;
    } else if (strncmp(line, "<field ", 7) == 0) {
        if (!st->in_cflow) {
            /* The exporter: the first IP source address of the frame (the outer header). */
            char name[32];
            if (!st->exporter[0] && ta_attr(line, " name=\"", name, sizeof name) == 0 &&
                (strcmp(name, "ip.src") == 0 || strcmp(name, "ipv6.src") == 0))
                ta_attr(line, " show=\"", st->exporter, sizeof st->exporter);
            return;
        }
        ta_field(st, line, !self_closing);
        if (!self_closing)
            st->depth++;
    } else if (strncmp(line, "</field>", 8) == 0) {
        if (!st->in_cflow)
            return;
        ta_close(st);
        st->depth--;
    }
}

static void ta_pdml_free(ta_pdml_t *st)
{
    for (size_t i = 0; i < st->n_tpls; i++)
        free(st->tpls[i].f);
    free(st->tpls);
    free(st->cur.f);
    free(st->scopes);
    free(st->flows);
    free(st->items);
    free(st->rec_bytes);
}

/* Runs tshark on `path`, dissecting as NetFlow/IPFIX every UDP destination port its frames use
 * (outer headers only: the sampled frames inside some IPFIX records carry other ports). */
/* The UDP destination ports of a capture's datagrams, for tshark's -d: read with our capture
 * reader rather than a first tshark pass, which doubled the test's time (tshark's start-up
 * dominates it). A port missed here would leave tshark's records undecoded, which the
 * comparison would report, so the list cannot hide a difference. */
typedef struct ta_ports {
    unsigned port[16];
    unsigned n, overflow;
} ta_ports_t;

static void ta_port_of(void *arg, const cap_dgram_t *d)
{
    ta_ports_t *p = arg;
    for (unsigned i = 0; i < p->n; i++)
        if (p->port[i] == d->dport)
            return;
    if (p->n < 16)
        p->port[p->n++] = d->dport;
    else
        p->overflow++;
}

static void ta_tshark(const char *path, ta_pdml_t *st)
{
    char cmd[8192];
    ta_ports_t ports = {0};
    int opened = 0;
    cap_read_dgrams(path, ta_port_of, &ports, NULL, NULL, &opened);
    ASSERT_NE(opened, 0);
    ASSERT_EQ(ports.overflow, 0);
    int n = snprintf(cmd, sizeof cmd, "TZ=UTC tshark -r '%s'", path);
    unsigned n_ports = 0;
    for (unsigned i = 0; i < ports.n; i++)
        if (ports.port[i] != 0) {
            n += snprintf(cmd + n, sizeof cmd - (size_t)n, " -d udp.port==%u,cflow", ports.port[i]);
            n_ports++;
        }
    ASSERT_GT(n_ports, 0);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " -T pdml 2>/dev/null");

    memset(st, 0, sizeof *st);
    FILE *f = popen(cmd, "r");
    ASSERT_NOT_NULL(f);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0)
        ta_pdml_line(st, line);
    free(line);
    ASSERT_EQ(pclose(f), 0);
}

/* ---- our side ------------------------------------------------------------------------------ */

typedef struct ta_ours {
    char *csv;                  /* flowhuntd's stdout, cut into cells in place */
    char *(*rows)[FLOW_N_COLS]; /* cells of each flow, by column */
    size_t n_rows;
    unsigned options, held_flows, waiting;
    char *err; /* flowhuntd's stderr: the counters */
} ta_ours_t;

/* Sum of the numbers following `key` in the counters ("options_records 15", "waiting 6 sets"),
 * over every template scope. */
static unsigned ta_counter(const char *err, const char *key)
{
    unsigned sum = 0;
    size_t kl = strlen(key);
    for (const char *p = strstr(err, key); p; p = strstr(p + kl, key))
        sum += (unsigned)strtoul(p + kl, NULL, 10);
    return sum;
}

static void ta_run_ours(const char *path, ta_ours_t *o)
{
    char cmd[8192], errpath[4096];
    memset(o, 0, sizeof *o);
    snprintf(errpath, sizeof errpath, "%s/ours.err", test_tmpdir());
    /* Not --quiet: the counters on stderr say how many options records we read, how many flows
     * came from held data and how many sets still wait for a template. */
    snprintf(cmd, sizeof cmd, "'%s' --read '%s' --print csv 2>'%s'", test_bin("flowhuntd"), path,
             errpath);
    ASSERT_EQ(test_run(cmd, &o->csv), 0);
    size_t len = 0;
    o->err = (char *)test_read_file(errpath, &len);
    ASSERT_NOT_NULL(o->err);
    char *e = realloc(o->err, len + 1);
    ASSERT_NOT_NULL(e);
    e[len] = '\0';
    o->err = e;
    o->options = ta_counter(e, "options_records ");
    o->held_flows = ta_counter(e, "held_flows ");
    o->waiting = ta_counter(e, "waiting ");

    /* The header names the columns; every column of the flow record must be there. */
    char *save = NULL, *line = strtok_r(o->csv, "\n", &save);
    ASSERT_NOT_NULL(line);
    int colmap[FLOW_N_COLS + 8];
    int n_head = 0;
    for (char *c = line;; n_head++) {
        char *comma = strchr(c, ',');
        if (comma)
            *comma = '\0';
        ASSERT_LT(n_head, FLOW_N_COLS);
        colmap[n_head] = flow_col_find(c);
        ASSERT_GE(colmap[n_head], 0);
        if (!comma) {
            n_head++;
            break;
        }
        c = comma + 1;
    }
    ASSERT_EQ(n_head, FLOW_N_COLS);
    size_t cap = 0;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        o->rows = ta_grow(o->rows, &cap, o->n_rows + 1, sizeof *o->rows);
        char **cells = o->rows[o->n_rows++];
        int i = 0;
        for (char *c = line;; i++) {
            char *comma = strchr(c, ',');
            if (comma)
                *comma = '\0';
            ASSERT_LT(i, FLOW_N_COLS);
            cells[colmap[i]] = c;
            if (!comma)
                break;
            c = comma + 1;
        }
        ASSERT_EQ(i + 1, FLOW_N_COLS);
    }
}

static void ta_ours_free(ta_ours_t *o)
{
    free(o->csv);
    free(o->rows);
    free(o->err);
}

/* ---- patching a capture -------------------------------------------------------------------- */

/* Byte offset of frame `frame` (1-based) in a classic pcap file, and its captured length. */
static size_t ta_pcap_frame(const uint8_t *b, size_t len, unsigned frame, size_t *caplen)
{
    ASSERT_GE(len, 24);
    uint32_t magic =
        (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    int le = magic == 0xa1b2c3d4u || magic == 0xa1b23c4du;
    if (!le && magic != 0xd4c3b2a1u && magic != 0x4d3cb2a1u)
        TEST_FAIL_AT("patches are for classic pcap files only (magic %08x)", magic);
    size_t off = 24;
    for (unsigned k = 1;; k++) {
        ASSERT_LE(off + 16, len);
        const uint8_t *h = b + off + 8;
        size_t incl =
            le ? ((size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24)
               : ((size_t)h[3] | (size_t)h[2] << 8 | (size_t)h[1] << 16 | (size_t)h[0] << 24);
        ASSERT_LE(off + 16 + incl, len);
        if (k == frame) {
            *caplen = incl;
            return off + 16;
        }
        off += 16 + incl;
    }
}

/* Writes a patched copy of `path` into the test's directory and returns its path. Each patch
 * first checks that the bytes it changes are the ones described. */
static const char *ta_patch_file(const char *path, const ta_patch_t *patches)
{
    static char out[4096];
    size_t len = 0;
    uint8_t *b = test_read_file(path, &len);
    ASSERT_NOT_NULL(b);
    for (const ta_patch_t *p = patches; p->frame; p++) {
        size_t caplen = 0, fo = ta_pcap_frame(b, len, p->frame, &caplen);
        uint8_t old[64], repl[64];
        long n_old = ta_unhex(p->old_hex, strlen(p->old_hex), old, sizeof old);
        ASSERT_GT(n_old, 0);
        ASSERT_LE(p->off + (size_t)n_old, caplen);
        uint8_t *at = b + fo + p->off;
        if (memcmp(at, old, (size_t)n_old) != 0)
            TEST_FAIL_AT("%s: frame %u offset %u does not hold %s: the capture changed", path,
                         p->frame, p->off, p->old_hex);
        if (p->new_hex) {
            long n_new = ta_unhex(p->new_hex, strlen(p->new_hex), repl, sizeof repl);
            ASSERT_EQ(n_new, n_old);
            memcpy(at, repl, (size_t)n_new);
            continue;
        }
        ASSERT_LE(p->off + p->len, p->to);
        ASSERT_LE(p->to, caplen);
        uint8_t *moved = malloc(p->len);
        ASSERT_NOT_NULL(moved);
        memcpy(moved, at, p->len);
        memmove(at, at + p->len, p->to - p->off - p->len);
        memcpy(b + fo + p->to - p->len, moved, p->len);
        free(moved);
    }
    const char *base = strrchr(path, '/');
    int n = snprintf(out, sizeof out, "%s/patched-%s", test_tmpdir(), base ? base + 1 : path);
    ASSERT(n > 0 && (size_t)n < sizeof out);
    FILE *f = fopen(out, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fwrite(b, 1, len, f), len);
    ASSERT_EQ(fclose(f), 0);
    free(b);
    return out;
}

/* ---- comparing ----------------------------------------------------------------------------- */

static void ta_fmt_val(const ta_val_t *v, int col, char *out, size_t cap)
{
    if (flow_cols[col].type == FLOW_T_ADDR) {
        char a[FLOW_ADDR_STRLEN];
        flow_addr_format(&v->a, a);
        snprintf(out, cap, "%s", a);
    } else {
        snprintf(out, cap, "%llu", (unsigned long long)v->u);
    }
}

/* Compares one capture; returns the number of values that agree. */
static unsigned ta_compare(const ta_cap_t *cap, const ta_ours_t *o, const ta_pdml_t *st)
{
    unsigned agree = 0, differ = 0;
    if (o->n_rows != st->n_flows)
        TEST_FAIL_AT("%s: we decode %zu flows, tshark %zu", cap->file, o->n_rows, st->n_flows);
    for (size_t i = 0; i < st->n_flows; i++) {
        const ta_tflow_t *t = &st->flows[i];
        for (int c = 0; c < FLOW_N_COLS; c++) {
            const ta_val_t *v = &t->v[c];
            const char *ours = o->rows[i][c];
            char want[FLOW_ADDR_STRLEN + 64];
            int ok;
            if (!v->have)
                continue;
            if (v->must_be_absent) {
                ok = ours[0] == '\0';
                snprintf(want, sizeof want, "(sysUpTime-relative, no system init time known)");
            } else if (ours[0] == '\0') {
                ok = 0;
                ta_fmt_val(v, c, want, sizeof want);
            } else if (flow_cols[c].type == FLOW_T_ADDR) {
                flow_addr_t a;
                ok = flow_addr_parse(&a, ours) == 0 && memcmp(&a, &v->a, sizeof a) == 0;
                ta_fmt_val(v, c, want, sizeof want);
            } else {
                ok = strtoull(ours, NULL, 10) == v->u;
                ta_fmt_val(v, c, want, sizeof want);
            }
            if (ok) {
                agree++;
                continue;
            }
            if (differ++ < 40)
                fprintf(stderr,
                        "%s: flow %zu (tshark frame %u, record %u): %s: ours \"%s\", tshark %s\n",
                        cap->file, i, t->frame, t->rec, flow_cols[c].name, ours, want);
        }
    }
    if (differ)
        TEST_FAIL_AT("%s: %u values differ from tshark's (listed above)", cap->file, differ);
    return agree;
}

static void ta_check_capture(const ta_cap_t *cap)
{
    char rel[512];
    snprintf(rel, sizeof rel, "netflow/%s", cap->file);
    const char *path = test_shared_file(rel);
    char orig[4096];
    snprintf(orig, sizeof orig, "%s", path);

    ta_ours_t o;
    ta_run_ours(orig, &o);
    /* Our counts, against the manifest's or the explanation in the table. */
    if (o.n_rows != cap->flows || o.options != cap->options || o.held_flows != cap->held_flows ||
        o.waiting != cap->waiting)
        TEST_FAIL_AT("%s: we decode %zu flows, %u options records, %u flows from held data, %u "
                     "sets left waiting; expected %u, %u, %u, %u",
                     cap->file, o.n_rows, o.options, o.held_flows, o.waiting, cap->flows,
                     cap->options, cap->held_flows, cap->waiting);
    if (cap->flows + cap->options != cap->records && !cap->why)
        TEST_FAIL_AT("%s: %u flows + %u options records is not the manifest's %u, and the table "
                     "says not why",
                     cap->file, cap->flows, cap->options, cap->records);

    if (cap->no_tshark) {
        ASSERT_EQ(o.n_rows, 0);
        ASSERT_NOT_NULL(strstr(o.err, "v5_length_mismatch: 1"));
        printf("%s: %s (tshark decodes %u records; not compared)\n", cap->file, cap->why,
               cap->records);
        ta_ours_free(&o);
        return;
    }

    const char *tpath = orig;
    if (cap->patches) {
        /* tshark reads the patched capture; the patch must not change what we decode. */
        tpath = ta_patch_file(orig, cap->patches);
        ta_ours_t op;
        ta_run_ours(tpath, &op);
        ASSERT_EQ(op.n_rows, o.n_rows);
        for (size_t i = 0; i < o.n_rows; i++)
            for (int c = 0; c < FLOW_N_COLS; c++)
                if (strcmp(o.rows[i][c], op.rows[i][c]) != 0)
                    TEST_FAIL_AT("%s: the patch for tshark changes our flow %zu, %s: %s -> %s",
                                 cap->file, i, flow_cols[c].name, o.rows[i][c], op.rows[i][c]);
        ta_ours_free(&op);
    }

    ta_pdml_t st;
    ta_tshark(tpath, &st);
    unsigned agree = ta_compare(cap, &o, &st);
    if (st.n_options != cap->options)
        TEST_FAIL_AT("%s: tshark decodes %u options records, we %u", cap->file, st.n_options,
                     cap->options);
    printf("%s: %zu flows, %u values agree with tshark%s; %u tshark fields not compared "
           "(tcp/udp or enterprise elements under a compared name)\n",
           cap->file, o.n_rows, agree, cap->patches ? " (patched for tshark)" : "", st.n_skipped);
    ta_pdml_free(&st);
    ta_ours_free(&o);
}

/* Every capture of one directory: each must be in the table, and the table's must be there. */
static void ta_check_dir(const char *dir)
{
    const char *sub = strchr(dir, '/') + 1;
    size_t sub_len = strlen(sub);
    const char *path = test_shared_file(dir);
    DIR *d = opendir(path);
    ASSERT_NOT_NULL(d);
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".pcap") == 0) {
            ASSERT_LT(n, 256);
            names[n] = malloc(sub_len + 1 + l + 1);
            ASSERT_NOT_NULL(names[n]);
            sprintf(names[n++], "%s/%s", sub, e->d_name);
        }
    }
    closedir(d);
    size_t in_table = 0;
    for (size_t i = 0; i < TA_N_CAPS; i++) {
        if (strncmp(ta_caps[i].file, sub, sub_len) != 0 || ta_caps[i].file[sub_len] != '/')
            continue;
        in_table++;
        int found = 0;
        for (size_t j = 0; j < n; j++)
            found |= strcmp(names[j], ta_caps[i].file) == 0;
        if (!found)
            TEST_FAIL_AT("%s is in the table but not in %s", ta_caps[i].file, path);
        ta_check_capture(&ta_caps[i]);
    }
    for (size_t j = 0; j < n; j++) {
        int found = 0;
        for (size_t i = 0; i < TA_N_CAPS; i++)
            found |= strcmp(names[j], ta_caps[i].file) == 0;
        if (!found)
            TEST_FAIL_AT("%s is a new capture: add it to ta_caps with its manifest count",
                         names[j]);
        free(names[j]);
    }
    ASSERT_EQ(in_table, n);
}

TEST_IMPL(tshark_all_akvorado)
{
    if (!test_have_tool("tshark"))
        SKIP("tshark is not installed (make deps installs it)");
    ta_check_dir(TA_DIR_AKVORADO);
    return 0;
}

TEST_IMPL(tshark_all_logstash)
{
    if (!test_have_tool("tshark"))
        SKIP("tshark is not installed (make deps installs it)");
    ta_check_dir(TA_DIR_LOGSTASH);
    return 0;
}
