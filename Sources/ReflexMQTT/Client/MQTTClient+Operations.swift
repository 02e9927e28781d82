public import NIOCore

extension MQTTClient {
    /// Waits until a connection is up and its CONNACK accepted (returns at once if it is).
    /// - Throws: ``MQTTClientError`` if the client stops first (for example refused credentials).
    public func waitUntilConnected() async throws {
        let stopped = MQTTClientError(
            code: .shutdown,
            message: "MQTT client '\(configuration.clientID)' stopped before connecting to \(configuration.endpoint)"
        )
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            stateLock { $0.waitForConnection(continuation, stoppedError: stopped) }.resume()
        }
    }

    /// Publishes a message.
    /// - Parameters:
    ///   - topic: the topic name (no wildcards).
    ///   - payload: the bytes.
    ///   - qos: `.atMostOnce` (written, not confirmed) or `.atLeastOnce` (returns after PUBACK).
    ///   - retain: whether the broker keeps it for future subscribers.
    /// - Throws: ``MQTTClientError``: `notConnected`, `connectionLost` (no PUBACK before the
    ///   connection dropped), `publishRejected` (PUBACK with a failure reason code), or
    ///   `protocolViolation` for QoS 2, which this client does not publish.
    public func publish(
        to topic: String,
        payload: ByteBuffer,
        qos: QoS = .atMostOnce,
        retain: Bool = false
    )
        async throws
    {
        switch qos {
        case .atMostOnce:
            guard let channel = stateLock({ $0.connectedChannel }) else { throw notConnected("publish to '\(topic)'") }
            let packet = Packet.publish(Publish(topic: topic, payload: payload, qos: .atMostOnce, retain: retain))
            do {
                try await channel.writeAndFlush(packet)
            } catch {
                throw lost(error, "publish to '\(topic)'")
            }
        case .atLeastOnce:
            try await acquireSlot(for: topic)
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                guard let (id, channel) = stateLock({ $0.registerPublish(continuation) }) else {
                    let error = notConnected("publish to '\(topic)'")
                    stateLock { $0.abandonPublish(nil, error: error) }.resume()
                    continuation.resume(throwing: error)
                    return
                }
                let packet = Packet.publish(
                    Publish(topic: topic, payload: payload, qos: .atLeastOnce, retain: retain, packetID: id)
                )
                channel.writeAndFlush(packet).whenFailure { error in
                    let wrapped = self.lost(error, "publish to '\(topic)'")
                    self.stateLock { $0.abandonPublish(id, error: wrapped) }.resume()
                }
            }
        case .exactlyOnce:
            throw MQTTClientError(
                code: .protocolViolation,
                message: "publish to '\(topic)': QoS 2 is not supported by this client; use QoS 1"
            )
        }
    }

    /// Subscribes to topic filters (wildcards allowed). Granted filters are restored after every
    /// reconnect.
    /// - Returns: the broker's reason code per filter, in order (granted QoS or a failure).
    /// - Throws: ``MQTTClientError``: `notConnected`, `connectionLost`, or `subscribeRejected`
    ///   when every filter was refused.
    @discardableResult
    public func subscribe(to requests: [SubscriptionRequest]) async throws -> [ReasonCode] {
        let what = "subscribe to \(requests.map { "'\($0.filter)'" }.joined(separator: ", "))"
        let codes = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<[ReasonCode], any Error>) in
            guard let (id, channel) = stateLock({ $0.registerSubscribe(requests, continuation) }) else {
                continuation.resume(throwing: notConnected(what))
                return
            }
            channel.writeAndFlush(Packet.subscribe(Subscribe(packetID: id, subscriptions: requests))).whenFailure {
                error in
                self.stateLock { $0.abandonRequest(id, error: self.lost(error, what)) }.resume()
            }
        }
        if !requests.isEmpty, codes.allSatisfy(\.isFailure) {
            throw MQTTClientError(
                code: .subscribeRejected,
                message: "MQTT broker \(configuration.endpoint) refused to \(what): "
                    + codes.map(\.clientDescription).joined(separator: ", "),
                reasonCode: codes.first
            )
        }
        return codes
    }

    /// Removes subscriptions (they are not restored after a reconnect any more).
    public func unsubscribe(from filters: [String]) async throws {
        let what = "unsubscribe from \(filters.map { "'\($0)'" }.joined(separator: ", "))"
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            guard let (id, channel) = stateLock({ $0.registerUnsubscribe(filters, continuation) }) else {
                continuation.resume(throwing: notConnected(what))
                return
            }
            channel.writeAndFlush(Packet.unsubscribe(Unsubscribe(packetID: id, filters: filters))).whenFailure {
                error in
                self.stateLock { $0.abandonRequest(id, error: self.lost(error, what)) }.resume()
            }
        }
    }

    /// Sends DISCONNECT (so the broker discards the will), closes the connection and makes
    /// ``run()`` return.
    public func disconnect() {
        requestStop()
    }

    /// Closes the TCP connection without DISCONNECT, as a network failure would (the broker
    /// publishes the will); the client reconnects as usual.
    public func dropConnection() {
        stateLock { $0.channel }?.close(promise: nil)
    }

    // MARK: - Internals

    private func acquireSlot(for topic: String) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            switch stateLock({ $0.acquireSlot(continuation) }) {
            case .granted: continuation.resume()
            case .wait: break
            case .fail: continuation.resume(throwing: notConnected("publish to '\(topic)'"))
            }
        }
    }

    func notConnected(_ what: String) -> MQTTClientError {
        MQTTClientError(
            code: .notConnected,
            message:
                "\(what): client '\(configuration.clientID)' is not connected to MQTT broker \(configuration.endpoint)"
        )
    }

    func lost(_ error: any Error, _ what: String) -> MQTTClientError {
        if let error = error as? MQTTClientError { return error }
        return MQTTClientError(
            code: .connectionLost,
            message: "\(what): connection to MQTT broker \(configuration.endpoint) lost",
            cause: error
        )
    }
}
