import BearerProxy
print("bearer-proxy")
