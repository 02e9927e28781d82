import ReflexServer
import ReflexStore
import Testing

@Suite("the store setting in the configuration")
struct StoreConfigurationTests {
    @Test("sqlite by default; flag > environment > file")
    func precedence() throws {
        try withTemporaryDirectory { (directory: String) throws in
            #expect(try load(in: directory).store == .sqlite)
            let fromFile = try load(yaml: "store: postgres://file@db/reflex\n", in: directory)
            #expect(fromFile.store.description == "postgres://file@db:5432/reflex")
            let fromEnvironment = try load(
                yaml: "store: postgres://file@db/reflex\n",
                environment: ["REFLEX_STORE": "postgres://env@db/reflex"],
                in: directory
            )
            #expect(fromEnvironment.store.description == "postgres://env@db:5432/reflex")
            var flags = NodeConfiguration.Overrides()
            flags.store = "sqlite"
            let fromFlag = try load(
                environment: ["REFLEX_STORE": "postgres://env@db/reflex"],
                flags: flags,
                in: directory
            )
            #expect(fromFlag.store == .sqlite)
        }
    }

    @Test("a bad store URL names the setting and where it came from, and never echoes the password")
    func badURLIsRedacted() throws {
        _ = try withTemporaryDirectory { (directory: String) throws in
            #expect {
                _ = try load(environment: ["REFLEX_STORE": "postgres://reflex:s3cret@/reflex"], in: directory)
            } throws: { error in
                let text = "\(error)"
                return text.contains("store from environment variable REFLEX_STORE") && text.contains("no host")
                    && !text.contains("s3cret") && text.contains("reflex:***@")
            }
        }
    }
}
