"""ministack's runtime interface client for python: AWS's Lambda Runtime API
(2018-06-01) on one side, `module.handler(event, context)` on the other.

The host starts it with LAMBDA_TASK_ROOT, _HANDLER and AWS_LAMBDA_RUNTIME_API
set, as AWS's own runtime does. Stdout and stderr go to the invoke's log.
"""

import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = "/2018-06-01/runtime/"
_host, _, _port = API.rpartition(":")
_conn = http.client.HTTPConnection(_host, int(_port))


def call(method, path, body=None, headers=None):
    """One Runtime API request on a kept-alive connection (one retry on a
    dropped connection)."""
    global _conn
    for attempt in (0, 1):
        try:
            _conn.request(method, BASE + path, body=body, headers=headers or {})
            response = _conn.getresponse()
            return response, response.read()
        except (http.client.HTTPException, OSError):
            _conn.close()
            _conn = http.client.HTTPConnection(_host, int(_port))
            if attempt:
                raise


def flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def error_body(error_type, message, request_id="", stack=None):
    return json.dumps({
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack or [],
    })


def init_error(error_type, message, stack=None):
    print("[ERROR] %s: %s" % (error_type, message), file=sys.stderr)
    flush()
    call("POST", "init/error", error_body(error_type, message, "", stack),
         {"Lambda-Runtime-Function-Error-Type": error_type,
          "Content-Type": "application/json"})
    sys.exit(1)


class LambdaContext:
    """What AWS's python runtime passes as `context`."""

    def __init__(self, request_id, deadline_ms, arn, client_context, identity):
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = client_context
        self.identity = identity
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(int(self._deadline_ms - time.time() * 1000), 0)

    def __repr__(self):
        return "LambdaContext([aws_request_id=%s,function_name=%s])" % (
            self.aws_request_id, self.function_name)


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = _RequestIdFilter.request_id
        return True


def setup_logging():
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_RequestIdFilter())
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO").upper())


def load_handler():
    spec = os.environ.get("_HANDLER", "")
    try:
        module_path, name = spec.rsplit(".", 1)
    except ValueError as e:
        init_error("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (spec, e))
    module_name = module_path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        init_error("Runtime.ImportModuleError",
                   "Unable to import module '%s': %s" % (module_name, e))
    except SyntaxError as e:
        init_error("Runtime.UserCodeSyntaxError",
                   "Syntax error in module '%s': %s" % (module_name, e),
                   traceback.format_exception_only(type(e), e))
    except Exception as e:
        init_error(type(e).__name__, str(e), traceback.format_tb(e.__traceback__))
    handler = getattr(module, name, None)
    if handler is None:
        init_error("Runtime.HandlerNotFound",
                   "Handler '%s' missing on module '%s'" % (name, module_name))
    return handler


def main():
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    # The task root comes first, as on AWS; this program's folder not at all.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    sys.path.insert(0, task_root)
    setup_logging()
    handler = load_handler()
    while True:
        response, body = call("GET", "invocation/next")
        if response.status != 200:
            sys.exit(0)
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id", "")
        deadline = int(response.getheader("Lambda-Runtime-Deadline-Ms", "0") or 0)
        arn = response.getheader("Lambda-Runtime-Invoked-Function-Arn", "")
        trace = response.getheader("Lambda-Runtime-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        client_context = response.getheader("Lambda-Runtime-Client-Context")
        if client_context:
            try:
                client_context = json.loads(client_context)
            except ValueError:
                pass
        _RequestIdFilter.request_id = request_id
        context = LambdaContext(request_id, deadline, arn, client_context, None)
        try:
            event = json.loads(body) if body else {}
            result = handler(event, context)
            try:
                out = json.dumps(result)
            except (TypeError, ValueError) as e:
                raise _MarshalError("Unable to marshal response: %s" % e)
        except _MarshalError as e:
            post_error(request_id, "Runtime.MarshalError", str(e), [])
            continue
        except Exception as e:
            stack = traceback.format_list(traceback.extract_tb(e.__traceback__)[1:])
            error_type = type(e).__name__
            print("[ERROR] %s: %s\nTraceback (most recent call last):\n%s" % (
                error_type, e, "".join(stack)), end="")
            post_error(request_id, error_type, str(e), stack)
            continue
        flush()
        call("POST", "invocation/%s/response" % request_id, out,
             {"Content-Type": "application/json"})


class _MarshalError(Exception):
    pass


def post_error(request_id, error_type, message, stack):
    flush()
    call("POST", "invocation/%s/error" % request_id,
         error_body(error_type, message, request_id, stack),
         {"Lambda-Runtime-Function-Error-Type": error_type,
          "Content-Type": "application/json"})


if __name__ == "__main__":
    main()
