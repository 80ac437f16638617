/* protoname.c: IP protocols by name (see protoname.h). */
#include "protoname.h"

#include <stddef.h>
#include <strings.h>

/* IANA's keywords for the protocols hunters name most, before nfdump's abbreviations (which
 * spell some of them otherwise: "ICMP6", "IPv6"). */
static const struct {
    const char *name;
    uint8_t num;
} protoname_common[] = {{"icmp", 1},  {"igmp", 2},  {"ipip", 4},   {"tcp", 6},
                        {"udp", 17},  {"ipv6", 41}, {"rsvp", 46},  {"gre", 47},
                        {"esp", 50},  {"ah", 51},   {"icmp6", 58}, {"ipv6-icmp", 58},
                        {"ospf", 89}, {"pim", 103}, {"sctp", 132}};

/* The names `nfdump -o csv` prints for protocols (nfdump 1.7.1's own abbreviations, read off
 * its output for each of the 256 numbers; the others it prints as numbers). IDPR is both 35
 * and 38 there: read back as 35. */
static const char *const protoname_nfdump[256] = {
    [1] = "ICMP",    [2] = "IGMP",    [3] = "GGP",     [4] = "IPIP",    [5] = "ST",
    [6] = "TCP",     [7] = "CBT",     [8] = "EGP",     [9] = "IGP",     [10] = "BBN",
    [11] = "NVPII",  [12] = "PUP",    [13] = "ARGUS",  [14] = "ENCOM",  [15] = "XNET",
    [16] = "CHAOS",  [17] = "UDP",    [18] = "MUX",    [19] = "DCN",    [20] = "HMP",
    [21] = "PRM",    [22] = "XNS",    [23] = "Trnk1",  [24] = "Trnk2",  [25] = "Leaf1",
    [26] = "Leaf2",  [27] = "RDP",    [28] = "IRTP",   [29] = "ISO-4",  [30] = "NETBK",
    [31] = "MFESP",  [32] = "MEINP",  [33] = "DCCP",   [34] = "3PC",    [35] = "IDPR",
    [36] = "XTP",    [37] = "DDP",    [38] = "IDPR",   [39] = "TP++",   [40] = "IL",
    [41] = "IPv6",   [42] = "SDRP",   [43] = "Rte6",   [44] = "Frag6",  [45] = "IDRP",
    [46] = "RSVP",   [47] = "GRE",    [48] = "MHRP",   [49] = "BNA",    [50] = "ESP",
    [51] = "AH",     [52] = "INLSP",  [53] = "SWIPE",  [54] = "NARP",   [55] = "MOBIL",
    [56] = "TLSP",   [57] = "SKIP",   [58] = "ICMP6",  [59] = "NOHE6",  [60] = "OPTS6",
    [61] = "HOST",   [62] = "CFTP",   [63] = "NET",    [64] = "SATNT",  [65] = "KLAN",
    [66] = "RVD",    [67] = "IPPC",   [68] = "FS",     [69] = "SATM",   [70] = "VISA",
    [71] = "IPCV",   [72] = "CPNX",   [73] = "CPHB",   [74] = "WSN",    [75] = "PVP",
    [76] = "BSATM",  [77] = "SUNND",  [78] = "WBMON",  [79] = "WBEXP",  [80] = "ISOIP",
    [81] = "VMTP",   [82] = "SVMTP",  [83] = "VINES",  [84] = "TTP",    [85] = "NSIGP",
    [86] = "DGP",    [87] = "TCF",    [88] = "EIGRP",  [89] = "OSPF",   [90] = "S-RPC",
    [91] = "LARP",   [92] = "MTP",    [93] = "AX.25",  [94] = "OS",     [95] = "MICP",
    [96] = "SCCSP",  [97] = "ETHIP",  [98] = "ENCAP",  [100] = "GMTP",  [101] = "IFMP",
    [102] = "PNNI",  [103] = "PIM",   [104] = "ARIS",  [105] = "SCPS",  [106] = "QNX",
    [107] = "A/N",   [108] = "IPcmp", [109] = "SNP",   [110] = "CpqPP", [111] = "IPXIP",
    [112] = "VRRP",  [113] = "PGM",   [114] = "0hop",  [115] = "L2TP",  [116] = "DDX",
    [117] = "IATP",  [118] = "STP",   [119] = "SRP",   [120] = "UTI",   [121] = "SMP",
    [122] = "SM",    [123] = "PTP",   [124] = "ISIS4", [125] = "FIRE",  [126] = "CRTP",
    [127] = "CRUDP", [129] = "IPLT",  [130] = "SPS",   [131] = "PIPE",  [132] = "SCTP",
    [133] = "FC",    [135] = "MHEAD", [136] = "UDP-L", [137] = "MPLS",
};

int protoname_parse(const char *s, uint8_t *out)
{
    for (size_t i = 0; i < sizeof protoname_common / sizeof protoname_common[0]; i++)
        if (strcasecmp(s, protoname_common[i].name) == 0) {
            *out = protoname_common[i].num;
            return 0;
        }
    for (int i = 0; i < 256; i++)
        if (protoname_nfdump[i] && strcasecmp(s, protoname_nfdump[i]) == 0) {
            *out = (uint8_t)i;
            return 0;
        }
    return -1;
}

const char *protoname_of(uint8_t p)
{
    return protoname_nfdump[p];
}
