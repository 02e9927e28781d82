public import ReflexMQTT

/// The HTTP API's settings (`http.*` keys).
///
/// | key | environment | flag | default |
/// | --- | --- | --- | --- |
/// | `http.listen` | `REFLEX_HTTP_LISTEN` | `--http-listen` | `0.0.0.0:8080` (`off` disables the API) |
///
/// The body limits are fixed here rather than configurable: 10 MiB of line protocol per write
/// (after gzip decompression), as InfluxDB's own default is in that range and Telegraf's default
/// batch of 1,000 metrics is far below it.
public struct HTTPAPIConfiguration: Sendable, Equatable {
    /// Where the API listens; nil when `http.listen` is `off`.
    public var listen: BrokerConfiguration.Endpoint? = BrokerConfiguration.Endpoint(host: "0.0.0.0", port: 8080)
    /// The largest request body accepted, in bytes after decompression.
    public var maxBodyBytes: Int = 10 << 20
    /// The most samples one write request may carry.
    public var maxSamplesPerWrite: Int = 1_000_000
    /// The largest `limit` a list query may ask for.
    public var maxPageSize: Int = 10_000

    /// The defaults above.
    public init() {}
}
