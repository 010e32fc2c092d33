public enum BearerProxyVersion {
    public static let current = "0.1.0"
}
