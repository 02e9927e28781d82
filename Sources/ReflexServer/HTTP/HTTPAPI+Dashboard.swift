import Hummingbird
import ReflexNode
import ReflexStore

extension HTTPAPI {
    /// The dashboard's routes besides its static files (which ``DashboardMiddleware`` serves
    /// before authentication): `GET /api/v1/whoami`, the signed-in token's name and role, so that
    /// the page can hide what the role may not do (the API enforces it anyway).
    func addDashboardRoutes(to router: Router<APIRequestContext>) {
        router.get("/api/v1/whoami") { _, context -> WhoAmIResponse in
            let token = try context.require(.viewer)
            return WhoAmIResponse(name: token.name, role: token.role.rawValue)
        }
    }
}

/// `GET /api/v1/whoami`
struct WhoAmIResponse: ResponseEncodable {
    var name: String
    var role: String
}
