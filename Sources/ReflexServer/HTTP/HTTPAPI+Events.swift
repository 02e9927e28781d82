import HTTPTypes
import Hummingbird
import ReflexCore
import ReflexNode
import ReflexStore

extension HTTPAPI {
    /// Frames buffered per client of the live feed before it loses the newest ones.
    static let liveFeedBufferSize = 2_000

    /// `GET /api/v1/events[?device=ID]`: the live feed of the dashboard, as server-sent events
    /// (see ``LiveFeed``); 404 when the node runs without events. The stream ends with an
    /// `event: revoked` frame when the token that opened it is revoked.
    func addEventRoutes(to router: Router<APIRequestContext>) {
        let api = self
        router.get("/api/v1/events") { request, context -> Response in
            let token = try context.require(.viewer)
            guard let events = api.events else {
                throw APIError(.notFound, code: "not_found", message: "this node has no live event feed")
            }
            var device: DeviceID?
            if let text = QueryParameters(request).text("device") {
                do {
                    device = try DeviceID(validating: text)
                } catch {
                    throw APIError.badParameter("device", text, expected: "a device id (\(error))")
                }
            }
            let feed = LiveFeed(
                events: events,
                device: device,
                heartbeat: api.liveFeedHeartbeat,
                bufferSize: Self.liveFeedBufferSize,
                counters: api.liveFeedCounters,
                token: token,
                openStreams: events.openStreams,
                logger: context.logger
            )
            let headers: HTTPFields = [
                .contentType: "text/event-stream; charset=utf-8",
                .cacheControl: "no-cache",
            ]
            return Response(
                status: .ok,
                headers: headers,
                body: ResponseBody { writer in try await feed.run(writer: &writer) }
            )
        }
    }
}
