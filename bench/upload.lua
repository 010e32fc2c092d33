-- wrk script: POST a 1 MiB body to /upload on every request (the request is built once and reused).
wrk.method = "POST"
wrk.path = "/upload"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = string.rep("u", 1048576)
