/// One extra form parameter of the token request (`token.extra_params`), in file order.
public struct TokenParameter: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
