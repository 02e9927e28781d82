import Logging
import Metrics
import NIOCore
import OrderedCollections

// MARK: - Packet dispatch

extension MQTTConnectionHandler {
    func handle(_ packet: Packet) {
        guard state == .connected else {
            if case .connect(let connect) = packet {
                handleConnect(connect)
            } else {
                reject(.protocolViolation("first packet must be CONNECT, got \(packet.name.uppercased())"))
            }
            return
        }
        guard let session else { return }
        switch packet {
        case .publish(let publish):
            core.statistics.publishReceived += 1
            handlePublish(publish, session: session)
        case .puback(let ack):
            if let entry = session.inflight[ack.packetID], entry.phase == .awaitingAck,
                entry.delivery.qos == .atLeastOnce
            {
                session.inflight.removeValue(forKey: ack.packetID)
                core.recordRemoved(entry.delivery, from: session)
                core.drain(session)
            }
        case .pubrec(let ack):
            guard let entry = session.inflight[ack.packetID], entry.delivery.qos == .exactlyOnce else {
                send(
                    .pubrel(
                        PublishAck(
                            packetID: ack.packetID,
                            reasonCode: version == .v5 ? .packetIdentifierNotFound : .success
                        )
                    )
                )
                return
            }
            if ack.reasonCode.isFailure {
                session.inflight.removeValue(forKey: ack.packetID)
                core.recordRemoved(entry.delivery, from: session)
                core.drain(session)
            } else {
                session.inflight[ack.packetID]?.phase = .awaitingComplete
                core.recordPhase(entry.delivery, of: session, phase: .awaitingComplete, packetID: ack.packetID)
                send(.pubrel(PublishAck(packetID: ack.packetID)))
            }
        case .pubrel(let ack):
            let known = session.incomingQoS2.remove(ack.packetID) != nil
            if known && session.isPersistent {
                core.isDirty = true
                core.recordSession(session)
            }
            send(
                .pubcomp(
                    PublishAck(
                        packetID: ack.packetID,
                        reasonCode: known || version == .v311 ? .success : .packetIdentifierNotFound
                    )
                )
            )
        case .pubcomp(let ack):
            if let entry = session.inflight[ack.packetID], entry.phase == .awaitingComplete {
                session.inflight.removeValue(forKey: ack.packetID)
                core.recordRemoved(entry.delivery, from: session)
                core.drain(session)
            }
        case .subscribe(let subscribe):
            handleSubscribe(subscribe, session: session)
        case .unsubscribe(let unsubscribe):
            var codes: [ReasonCode] = []
            for filter in unsubscribe.filters {
                codes.append(core.unsubscribe(session, filterString: filter) ? .success : .noSubscriptionExisted)
            }
            send(.unsuback(UnsubAck(packetID: unsubscribe.packetID, reasonCodes: codes)))
        case .pingreq:
            send(.pingresp)
        case .disconnect(let disconnect):
            handleDisconnect(disconnect, session: session)
        case .connect:
            metrics.countRejected("second_connect")
            core.statistics.protocolErrors += 1
            log.notice("Closing connection: second CONNECT", metadata: ["mqtt.client_id": "\(clientID)"])
            closeWithReason(.protocolError, reasonString: "a second CONNECT on one connection is a protocol error")
        case .auth:
            metrics.countRejected("auth_unsupported")
            closeWithReason(.protocolError, reasonString: "enhanced authentication is not supported")
        case .connack, .suback, .unsuback, .pingresp:
            metrics.countRejected("unexpected_packet")
            core.statistics.protocolErrors += 1
            log.notice(
                "Closing connection: server-only packet from client",
                metadata: ["mqtt.packet": "\(packet.name)"]
            )
            closeWithReason(.protocolError, reasonString: "\(packet.name.uppercased()) may only be sent by a server")
        }
    }

    private func handleDisconnect(_ disconnect: Disconnect, session: Session) {
        if version == .v5, let expiry = disconnect.properties.sessionExpiryInterval {
            if session.expiryIntervalSeconds == 0 && expiry != 0 {
                closeWithReason(
                    .protocolError,
                    reasonString: "session expiry cannot be set at DISCONNECT when CONNECT set 0"
                )
                return
            }
            session.expiryIntervalSeconds = min(expiry, core.configuration.maxSessionExpirySeconds)
        }
        // Only a normal disconnect (0x00) discards the will; 0x04 asks for it, and an error
        // reason from the client means the session did not end cleanly (MQTT 5.0 §3.14.4).
        if disconnect.reasonCode == .normalDisconnection {
            will = nil
            disconnectedNormally = true
        }
        closeNow()
    }
}

// MARK: - CONNECT

extension MQTTConnectionHandler {
    func handleConnect(_ connect: Connect) {
        version = connect.version
        let configuration = core.configuration
        var assignedID: String?
        if connect.clientID.isEmpty {
            if version == .v311 && !connect.cleanStart {
                refuseConnect(.clientIdentifierNotValid, "an empty client id requires clean session = 1")
                return
            }
            let generated = "reflex-" + randomSuffix()
            assignedID = generated
            clientID = generated
        } else {
            clientID = connect.clientID
        }
        if connect.properties.authenticationMethod != nil {
            refuseConnect(.badAuthenticationMethod, "enhanced authentication is not supported")
            return
        }
        if let will = connect.will {
            do {
                try TopicRules.validateTopicName(
                    will.topic,
                    maxLength: configuration.maxTopicLength,
                    maxLevels: configuration.maxTopicLevels
                )
            } catch {
                refuseConnect(.topicNameInvalid, "will topic: \(error)")
                return
            }
            if will.properties.payloadFormatIndicator == 1, !will.payload.isValidUTF8 {
                refuseConnect(.payloadFormatInvalid, "will payload is marked UTF-8 but is not")
                return
            }
        }
        if core.connectedClients >= configuration.maxConnections {
            refuseConnect(.serverBusy, "connection limit of \(configuration.maxConnections) reached")
            return
        }
        let credentials = ConnectCredentials(
            clientID: clientID,
            username: connect.username,
            password: connect.password,
            remoteAddress: remoteAddress
        )
        if authenticatorAllowsAll {
            completeConnect(connect, identity: ClientIdentity(principal: connect.username), assignedID: assignedID)
            return
        }
        state = .authenticating
        guard let context else { return }
        let authenticator = self.authenticator
        let assigned = assignedID
        context.eventLoop.makeFutureWithTask {
            await authenticator.authenticate(credentials)
        }.whenComplete { [self] result in
            guard state == .authenticating else { return }
            switch result {
            case .success(.accepted(let identity)):
                state = .awaitingConnect
                completeConnect(connect, identity: identity, assignedID: assigned)
                processInbound()
            case .success(.refused(let reason)):
                refuseConnect(reason, "authentication failed")
            case .failure:
                refuseConnect(.unspecifiedError, "authentication failed")
            }
            core.flushAll()
        }
    }

    private func refuseConnect(_ reason: ReasonCode, _ explanation: String) {
        core.statistics.connectionsRefused += 1
        metrics.countRefusedConnection(reason)
        log.notice("Refused connection", metadata: ["mqtt.reason": "\(reason)", "mqtt.detail": "\(explanation)"])
        sendConnAck(
            ConnAck(sessionPresent: false, reasonCode: reason, properties: reasonProperties(explanation)),
            version: version
        )
        closeNow()
    }

    private func completeConnect(_ connect: Connect, identity: ClientIdentity, assignedID: String?) {
        let configuration = core.configuration
        if let will = connect.will, !core.authorizer.mayPublish(identity, clientID: clientID, topic: will.topic) {
            refuseConnect(.notAuthorized, "not authorized to publish the will to '\(will.topic)'")
            return
        }
        self.identity = identity

        // Session expiry: v5 asks for it; 3.1.1 clean session = 0 gets the configured default.
        let requestedExpiry: UInt32
        if version == .v5 {
            requestedExpiry = connect.properties.sessionExpiryInterval ?? 0
        } else {
            requestedExpiry = connect.cleanStart ? 0 : configuration.v311SessionExpirySeconds
        }
        let expiry = min(requestedExpiry, configuration.maxSessionExpirySeconds)

        let existing = core.sessions[clientID]
        let decision = SessionOwnership.decide(
            existing: existing.map { SessionOwnership.Existing(owner: $0.owner, isConnected: $0.connection != nil) },
            identity: identity,
            cleanStart: connect.cleanStart
        )
        var sessionPresent = false
        let session: Session
        switch decision {
        case .refuse(let owner):
            core.statistics.sessionOwnerRefusals += 1
            metrics.countRejected("session_owner")
            log.notice(
                "Refused connection: the client id belongs to another identity's session",
                metadata: ["mqtt.principal": "\(identity)", "mqtt.session_owner": "\(owner?.description ?? "unknown")"]
            )
            refuseConnect(.notAuthorized, "not authorized to use this client id")
            return
        case .startNew:
            session = Session(clientID: clientID, owner: identity, version: version, expiryIntervalSeconds: expiry)
            core.sessions[clientID] = session
        case .discardOwnerless:
            log.notice(
                "Discarded a restored session without a recorded owner",
                metadata: ["mqtt.principal": "\(identity)"]
            )
            if let existing { core.endSession(existing) }
            session = Session(clientID: clientID, owner: identity, version: version, expiryIntervalSeconds: expiry)
            core.sessions[clientID] = session
        case .startOver, .resume:
            guard let existing else { preconditionFailure("SessionOwnership resumed a session that does not exist") }
            if let previous = existing.connection {
                previous.closeForTakeover()
            }
            var resumes = false
            if case .resume = decision { resumes = true }
            // The takeover may have ended the session (it was not persistent).
            if !resumes || core.sessions[clientID] !== existing {
                if core.sessions[clientID] === existing { core.endSession(existing) }
                session = Session(clientID: clientID, owner: identity, version: version, expiryIntervalSeconds: expiry)
                core.sessions[clientID] = session
            } else {
                session = existing
                sessionPresent = true
                session.owner = identity
                session.expiryTask?.cancel()
                session.expiryTask = nil
                if let pending = session.pendingWill {
                    pending.task.cancel()
                    session.pendingWill = nil
                }
                session.version = version
                session.expiryIntervalSeconds = expiry
                core.recheckSubscriptions(of: session, for: identity)
            }
        }
        session.connection = self
        session.disconnectedAt = nil
        self.session = session
        if session.isPersistent { core.isDirty = true }

        if let will = connect.will {
            self.will = makeMessage(
                topic: will.topic,
                payload: will.payload,
                qos: will.qos,
                retain: will.retain,
                properties: will.properties
            )
            willDelaySeconds = will.properties.willDelayInterval ?? 0
        }
        sendQuota = min(configuration.maxInflight, Int(connect.properties.receiveMaximum ?? UInt16.max))
        clientMaximumPacketSize = connect.properties.maximumPacketSize.map { Int($0) } ?? Int.max
        clientTopicAliasMaximum = connect.properties.topicAliasMaximum ?? 0

        var properties = Properties()
        var keepAliveSeconds = Int(connect.keepAliveSeconds)
        if version == .v5 {
            properties.assignedClientIdentifier = assignedID
            properties.receiveMaximum = UInt16(clamping: configuration.maxInflight)
            properties.maximumPacketSize = UInt32(clamping: configuration.maxPacketSize)
            properties.topicAliasMaximum = configuration.topicAliasMaximum
            if expiry != requestedExpiry { properties.sessionExpiryInterval = expiry }
            if keepAliveSeconds > configuration.maxKeepAliveSeconds
                || (keepAliveSeconds == 0 && configuration.maxKeepAliveSeconds < 65_535)
            {
                keepAliveSeconds = configuration.maxKeepAliveSeconds
                properties.serverKeepAlive = UInt16(clamping: keepAliveSeconds)
            }
        }
        state = .connected
        core.connectedClients += 1
        core.clientEvents?.clientConnected(clientID: clientID, identity: identity)
        core.statistics.connectionsAccepted += 1
        metrics.connectionsAccepted.increment()
        sendConnAck(
            ConnAck(sessionPresent: sessionPresent, reasonCode: .success, properties: properties),
            version: version
        )
        log.debug(
            "Client connected",
            metadata: [
                "mqtt.version": "\(version)", "mqtt.session_present": "\(sessionPresent)",
                "mqtt.principal": "\(identity)",
            ]
        )
        if keepAliveSeconds > 0 {
            keepAlive = .milliseconds(Int64(keepAliveSeconds) * 1500)
        }
        if sessionPresent {
            core.resendInflight(session)
        }
        core.drain(session)
    }

    /// Another connection took this client id over: v5 clients are told why (0x8E), the will
    /// follows the usual rules (delayed if a delay was given) and the session is left to the
    /// new connection.
    func closeForTakeover() {
        guard let session else { return }
        if version == .v5 && state == .connected {
            send(
                .disconnect(
                    Disconnect(
                        reasonCode: .sessionTakenOver,
                        properties: reasonProperties("another connection uses this client id")
                    )
                )
            )
        }
        self.session = nil
        core.connectedClients -= 1
        core.sessionWentOffline(session, will: will, willDelaySeconds: willDelaySeconds)
        will = nil
        closeNow()
    }

    private func randomSuffix() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next(), radix: 36) + String(generator.next() & 0xFFFF_FFFF, radix: 36)
    }
}

// MARK: - PUBLISH, SUBSCRIBE

extension MQTTConnectionHandler {
    /// Builds the routed form of a message: expiry as a deadline, only forwardable properties.
    func makeMessage(
        topic: String,
        payload: ByteBuffer,
        qos: QoS,
        retain: Bool,
        properties: Properties
    ) -> ApplicationMessage {
        var forwarded = Properties()
        var expiresAt: NIODeadline?
        if version == .v5 {
            forwarded.payloadFormatIndicator = properties.payloadFormatIndicator
            forwarded.contentType = properties.contentType
            forwarded.responseTopic = properties.responseTopic
            forwarded.correlationData = properties.correlationData
            forwarded.userProperties = properties.userProperties
            if let interval = properties.messageExpiryInterval {
                expiresAt = core.eventLoop.now + .seconds(Int64(interval))
            }
        }
        return ApplicationMessage(
            topic: topic,
            payload: payload,
            qos: qos,
            retain: retain,
            properties: forwarded,
            expiresAt: expiresAt,
            publisherClientID: clientID,
            publisher: identity
        )
    }

    func handlePublish(_ publish: Publish, session: Session) {
        var topic = publish.topic
        if version == .v5, let alias = publish.properties.topicAlias {
            guard alias != 0, alias <= core.configuration.topicAliasMaximum else {
                metrics.countRejected("topic_alias_invalid")
                closeWithReason(
                    .topicAliasInvalid,
                    reasonString: "topic alias \(alias) is outside 1...\(core.configuration.topicAliasMaximum)"
                )
                return
            }
            if topic.isEmpty {
                guard let known = incomingAliases[alias] else {
                    metrics.countRejected("protocol_violation")
                    closeWithReason(
                        .protocolError,
                        reasonString: "topic alias \(alias) was never set on this connection"
                    )
                    return
                }
                topic = known
            } else {
                incomingAliases[alias] = topic
            }
        } else if topic.isEmpty {
            metrics.countRejected("topic_invalid")
            closeWithReason(.protocolError, reasonString: "PUBLISH without topic name or topic alias")
            return
        }
        do {
            try TopicRules.validateTopicName(
                topic,
                maxLength: core.configuration.maxTopicLength,
                maxLevels: core.configuration.maxTopicLevels
            )
        } catch {
            metrics.countRejected("topic_invalid")
            log.notice("Rejected publish: invalid topic", metadata: ["error": "\(error)"])
            closeWithReason(.topicNameInvalid, reasonString: "\(error)")
            return
        }
        if publish.qos == .exactlyOnce, let id = publish.packetID, !session.incomingQoS2.contains(id),
            session.incomingQoS2.count >= core.configuration.maxInflight
        {
            metrics.countRejected("receive_maximum")
            closeWithReason(
                .receiveMaximumExceeded,
                reasonString: "more than \(core.configuration.maxInflight) QoS 2 messages unacknowledged"
            )
            return
        }
        var refusal: ReasonCode?
        if publish.properties.payloadFormatIndicator == 1, version == .v5, !publish.payload.isValidUTF8 {
            metrics.countRejected("payload_format")
            refusal = .payloadFormatInvalid
        } else if topic.utf8.first == UInt8(ascii: "$") && topic.hasPrefix("$SYS")
            || !core.authorizer.mayPublish(identity, clientID: clientID, topic: topic)
        {
            core.statistics.unauthorizedPublishes += 1
            metrics.countRejected("not_authorized")
            log.debug("Rejected publish: not authorized", metadata: ["mqtt.topic": "\(topic)"])
            refusal = .notAuthorized
        } else if publish.retain {
            do {
                try core.checkRetainedQuota(
                    topic: topic,
                    payloadBytes: publish.payload.readableBytes,
                    publisher: identity
                )
            } catch {
                metrics.countRejected("retained_quota")
                refusal = .quotaExceeded
            }
        }
        // A QoS 2 PUBLISH sent again before PUBREL is acknowledged again and never routed twice.
        if publish.qos == .exactlyOnce, let id = publish.packetID, session.incomingQoS2.contains(id) {
            acknowledge(.pubrec, packetID: id, reason: .success)
            return
        }
        var deferredAck: EventLoopFuture<ReasonCode>?
        if refusal == nil, let interceptor = core.interceptor {
            let intercepted = InterceptedPublish(
                clientID: clientID,
                identity: identity,
                topic: topic,
                payload: publish.payload,
                qos: publish.qos,
                retain: publish.retain,
                contentType: publish.properties.contentType
            )
            switch interceptor.intercept(intercepted, eventLoop: core.eventLoop) {
            case .accept: break
            case .reject(let code): refusal = code
            case .acceptAfter(let future): deferredAck = future
            }
        }
        let durableMark = core.durableChangeCount
        if refusal == nil {
            core.route(
                makeMessage(
                    topic: topic,
                    payload: publish.payload,
                    qos: publish.qos,
                    retain: publish.retain,
                    properties: publish.properties
                )
            )
        }
        guard let id = publish.packetID else { return }  // QoS 0: nothing to acknowledge
        let kind: PendingAck.Kind = publish.qos == .atLeastOnce ? .puback : .pubrec
        if publish.qos == .exactlyOnce && (refusal == nil || version == .v311) {
            session.incomingQoS2.insert(id)
            if session.isPersistent {
                core.isDirty = true
                core.recordSession(session)
            }
        }
        // What the routing queued for persistent sessions and the retained message it set are
        // durable before the acknowledgement, together with the interceptor's work (both run
        // at once; the acknowledgement waits for the later of the two).
        if refusal == nil, core.journal != nil, core.durableChangeCount != durableMark {
            let durable = core.commitDurably()
            let combined =
                deferredAck.map { $0.and(durable).map { reason, _ in reason } }
                ?? durable.map { ReasonCode.success }
            deferredAck = combined
        }
        if let deferredAck {
            acknowledgeLater(kind, packetID: id, when: deferredAck)
        } else {
            acknowledge(kind, packetID: id, reason: version == .v5 ? (refusal ?? .success) : .success)
        }
    }

    func handleSubscribe(_ subscribe: Subscribe, session: Session) {
        let configuration = core.configuration
        let identifier = subscribe.properties.subscriptionIdentifiers.first
        var codes: [ReasonCode] = []
        var accepted: [(TopicFilter, SubscriptionOptions)] = []
        for request in subscribe.subscriptions {
            let filter: TopicFilter
            do {
                filter = try TopicRules.parseFilter(
                    request.filter,
                    maxLength: configuration.maxTopicLength,
                    maxLevels: configuration.maxTopicLevels
                )
            } catch {
                metrics.countRejected("topic_invalid")
                log.debug("Rejected subscription", metadata: ["mqtt.filter": "\(request.filter)", "error": "\(error)"])
                codes.append(.topicFilterInvalid)
                continue
            }
            if filter.shareGroup != nil && request.noLocal {
                metrics.countRejected("protocol_violation")
                closeWithReason(.protocolError, reasonString: "no local on a shared subscription is a protocol error")
                return
            }
            guard core.authorizer.maySubscribe(identity, clientID: clientID, filter: request.filter) else {
                core.statistics.unauthorizedSubscribes += 1
                metrics.countRejected("not_authorized")
                codes.append(.notAuthorized)
                continue
            }
            let options = SubscriptionOptions(
                qos: request.qos,
                noLocal: request.noLocal,
                retainAsPublished: request.retainAsPublished,
                retainHandling: request.retainHandling,
                identifier: identifier
            )
            accepted.append((filter, options))
            codes.append(ReasonCode(rawValue: request.qos.rawValue))
        }
        if session.isPersistent, core.journal != nil, !accepted.isEmpty {
            subscribeDurably(subscribe.packetID, codes: codes, accepted: accepted, session: session)
            return
        }
        // SUBACK goes out before the retained messages the subscription brings (MQTT-3.8.4-4 ordering).
        send(.suback(SubAck(packetID: subscribe.packetID, reasonCodes: codes)))
        for (filter, options) in accepted {
            core.subscribe(session, filter: filter, options: options)
        }
    }

    /// A persistent session's SUBACK waits until its record with the new subscriptions is
    /// durable (one group commit); the subscriptions route at once, the retained messages they
    /// bring follow the SUBACK. If the write fails, the new subscriptions are removed again and
    /// the SUBACK says 0x80 (failure) for them: the client may subscribe again.
    private func subscribeDurably(
        _ packetID: UInt16,
        codes: [ReasonCode],
        accepted: [(TopicFilter, SubscriptionOptions)],
        session: Session
    ) {
        let added = accepted.map { filter, options in
            (filter, options, core.addSubscription(session, filter: filter, options: options))
        }
        core.recordSession(session)
        core.commitDurably().whenComplete { [self] result in
            guard state == .connected, self.session === session else { return }
            switch result {
            case .success:
                send(.suback(SubAck(packetID: packetID, reasonCodes: codes)))
                for (filter, options, existed) in added
                where session.subscriptions[filter.original]?.options == options {
                    core.sendRetained(to: session, filter: filter, options: options, existed: existed)
                }
            case .failure:
                for (filter, _, existed) in added where !existed {
                    core.unsubscribe(session, filterString: filter.original)
                }
                // 0x80: "Failure" in 3.1.1, "Unspecified error" in 5.
                let refused = codes.map { $0.isFailure ? $0 : ReasonCode.unspecifiedError }
                send(.suback(SubAck(packetID: packetID, reasonCodes: refused)))
            }
            core.flushAll()
        }
    }
}

extension ByteBuffer {
    /// Whether the readable bytes are well-formed UTF-8.
    var isValidUTF8: Bool {
        withUnsafeReadableBytes { raw in
            String(validating: raw, as: UTF8.self) != nil
        }
    }
}
