-- The bare hyper "hello" server: GET / (the physical reference).
wrk.method = "GET"
wrk.path = "/"
