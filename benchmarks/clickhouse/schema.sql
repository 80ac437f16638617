-- schema.sql: the flow table the ClickHouse anchor of `make bench` hunts beacons in
-- (benchmarks/bench_clickhouse.sh; ClickHouse 18.16, Debian 12's clickhouse-server).
--
-- flows holds the columns beacon.sql reads, one row per stored flow record, as
-- `flowhunt cat DIR --format csv` prints them (columns time_start, src_addr, dst_addr,
-- dst_port, proto, bytes of `flowhuntd --print csv`). Addresses are FixedString(16): IPv6 as
-- is, IPv4 mapped (::ffff:a.b.c.d), so one column holds both families and an IPv4 network is
-- a range of it. Partitioned by day, sorted by host pair then time, as a flow store that is
-- queried per pair would be. 18.16 has no column codecs (19.x), so the default LZ4 applies.
CREATE TABLE flows
(
    ts_ms UInt64,          -- flow start, ms since the epoch (UTC)
    src FixedString(16),
    dst FixedString(16),
    dst_port UInt16,
    proto UInt8,
    bytes UInt64           -- as exported, the record's own direction (originator bytes for a
                           -- request record)
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts_ms, 1000)))
ORDER BY (src, dst, ts_ms);

-- The CSV lands here and the view below converts the text addresses on the way in: 18.16 can
-- neither parse an address into a number while reading CSV nor insert a subset of a
-- SELECT's columns from a file (input() is 20.x), and a Null table keeps nothing.
CREATE TABLE flows_csv
(
    time_start UInt64,
    src_addr String,
    dst_addr String,
    dst_port UInt16,
    proto UInt8,
    bytes UInt64
) ENGINE = Null;

CREATE MATERIALIZED VIEW flows_load TO flows AS
SELECT
    time_start AS ts_ms,
    if(position(src_addr, ':') > 0, IPv6StringToNum(src_addr),
       IPv4ToIPv6(IPv4StringToNum(src_addr))) AS src,
    if(position(dst_addr, ':') > 0, IPv6StringToNum(dst_addr),
       IPv4ToIPv6(IPv4StringToNum(dst_addr))) AS dst,
    dst_port,
    proto,
    bytes
FROM flows_csv;
