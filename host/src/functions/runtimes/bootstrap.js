// ministack's runtime interface client for node: AWS's Lambda Runtime API
// (2018-06-01) on one side, `handler(event, context[, callback])` on the
// other (async handlers, promises and callbacks, CommonJS and ES modules).
// The host starts it with LAMBDA_TASK_ROOT, _HANDLER and
// AWS_LAMBDA_RUNTIME_API set, as AWS's own runtime does.
"use strict";

const fs = require("fs");
const http = require("http");
const path = require("path");
const util = require("util");
const { pathToFileURL } = require("url");

const [HOST, PORT] = (() => {
  const api = process.env.AWS_LAMBDA_RUNTIME_API;
  const i = api.lastIndexOf(":");
  return [api.slice(0, i), Number(api.slice(i + 1))];
})();
const BASE = "/2018-06-01/runtime/";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function call(method, route, body, headers) {
  headers = headers || {};
  if (body !== undefined) {
    body = Buffer.from(body);
    // One write with a length, not a chunked body in pieces.
    headers["Content-Length"] = body.length;
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: HOST, port: PORT, method, path: BASE + route, agent, headers },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// console.* as AWS's node runtime writes it: timestamp, request id, level.
let currentRequestId = "undefined";
function patchConsole() {
  const write = (level) => (...args) => {
    const line = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}\n`;
    fs.writeSync(1, line);
  };
  console.log = write("INFO");
  console.info = write("INFO");
  console.warn = write("WARN");
  console.error = write("ERROR");
  console.debug = write("DEBUG");
  console.trace = write("TRACE");
}

function errorObject(err) {
  if (err instanceof Error) {
    return {
      errorType: err.name || "Error",
      errorMessage: err.message,
      trace: String(err.stack || "").split("\n"),
    };
  }
  return { errorType: typeof err === "string" ? "string" : "Error", errorMessage: String(err), trace: [] };
}

async function initError(errorType, message, trace) {
  const body = JSON.stringify({ errorType, errorMessage: message, trace: trace || [] });
  fs.writeSync(2, `${new Date().toISOString()}\tundefined\tERROR\t${errorType}: ${message}\n`);
  await call("POST", "init/error", body, {
    "Lambda-Runtime-Function-Error-Type": errorType,
    "Content-Type": "application/json",
  });
  process.exit(1);
}

async function loadHandler() {
  const spec = process.env._HANDLER || "";
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const dot = spec.lastIndexOf(".");
  if (dot <= 0) {
    return initError("Runtime.MalformedHandlerName", `Bad handler ${spec}`);
  }
  const modulePath = spec.slice(0, dot);
  const name = spec.slice(dot + 1);
  const base = path.resolve(root, modulePath);
  const file = [".js", ".mjs", ".cjs"].map((e) => base + e).find((f) => fs.existsSync(f));
  if (!file) {
    return initError(
      "Runtime.ImportModuleError",
      `Error: Cannot find module '${modulePath}'\nRequire stack:\n- ${__filename}`,
    );
  }
  let mod;
  try {
    mod = file.endsWith(".mjs") ? await import(pathToFileURL(file).href) : require(file);
  } catch (e) {
    if (e && e.code === "ERR_REQUIRE_ESM") {
      try {
        mod = await import(pathToFileURL(file).href);
      } catch (e2) {
        return initError("Runtime.ImportModuleError", String(e2), String(e2.stack || "").split("\n"));
      }
    } else if (e instanceof SyntaxError) {
      return initError("Runtime.UserCodeSyntaxError", String(e), String(e.stack || "").split("\n"));
    } else {
      return initError("Runtime.ImportModuleError", String(e), String((e && e.stack) || "").split("\n"));
    }
  }
  let handler = mod && mod[name];
  if (handler === undefined && mod && mod.default) handler = mod.default[name];
  if (typeof handler !== "function") {
    return initError("Runtime.HandlerNotFound", `${modulePath}.${name} is undefined or not exported`);
  }
  return handler;
}

function makeContext(headers) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"] || 0);
  let clientContext;
  if (headers["lambda-runtime-client-context"]) {
    try {
      clientContext = JSON.parse(headers["lambda-runtime-client-context"]);
    } catch (_) {
      clientContext = undefined;
    }
  }
  return {
    callbackWaitsForEmptyEventLoop: true,
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext,
    identity: undefined,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
}

function runHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err);
      else resolve(result);
    };
    context.done = callback;
    context.succeed = (result) => callback(null, result);
    context.fail = (err) => callback(err === undefined || err === null ? "handled" : err);
    let returned;
    try {
      returned = handler(event, context, callback);
    } catch (e) {
      callback(e);
      return;
    }
    if (returned && typeof returned.then === "function") {
      returned.then((r) => callback(null, r), (e) => callback(e === undefined || e === null ? new Error(String(e)) : e));
    } else if (handler.length < 3) {
      callback(null, returned);
    }
  });
}

// Response streaming: `awslambda.streamifyResponse(handler)` marks a
// handler that is called as handler(event, responseStream, context) and
// writes its answer to the stream; each write goes to the Runtime API as a
// piece of a chunked `/response` with Lambda-Runtime-Function-Response-Mode:
// streaming, so the caller sees it while the handler still runs.
const STREAMING = Symbol.for("aws.lambda.runtime.handler.streaming");
const { Writable } = require("stream");
globalThis.awslambda = {
  streamifyResponse(handler) {
    handler[STREAMING] = "response";
    return handler;
  },
  HttpResponseStream: {
    // Function URLs: a JSON prelude (statusCode, headers, cookies), eight
    // NUL bytes, then the body.
    from(stream, prelude) {
      stream.setContentType("application/vnd.awslambda.http-integration-response");
      stream.write(JSON.stringify(prelude || {}));
      stream.write(Buffer.alloc(8));
      return stream;
    },
  },
};

function runStreaming(handler, event, context, id) {
  let contentType = "application/octet-stream";
  let req;
  let done;
  const answered = new Promise((resolve, reject) => (done = { resolve, reject }));
  const open = () => {
    if (req) return req;
    req = http.request(
      {
        host: HOST,
        port: PORT,
        method: "POST",
        path: `${BASE}invocation/${id}/response`,
        agent,
        headers: {
          "Lambda-Runtime-Function-Response-Mode": "streaming",
          "Content-Type": contentType,
          "Transfer-Encoding": "chunked",
          Trailer: "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => done.resolve());
      },
    );
    req.on("error", (e) => done.reject(e));
    req.flushHeaders();
    return req;
  };
  const stream = new Writable({
    write(chunk, _enc, cb) {
      open().write(chunk, cb);
    },
    final(cb) {
      open().end(cb);
    },
  });
  stream.setContentType = (t) => {
    contentType = t;
  };
  const fail = (err) => {
    const body = errorObject(err);
    fs.writeSync(1, `${new Date().toISOString()}\t${id}\tERROR\tInvoke Error \t${JSON.stringify(body)}\n`);
    const r = open();
    r.addTrailers({
      "Lambda-Runtime-Function-Error-Type": body.errorType,
      "Lambda-Runtime-Function-Error-Body": Buffer.from(JSON.stringify(body)).toString("base64"),
    });
    r.end();
  };
  Promise.resolve()
    .then(() => handler(event, stream, context))
    .then(
      () => {
        if (!stream.writableEnded) stream.end();
      },
      (err) => fail(err),
    );
  return answered;
}

async function main() {
  patchConsole();
  const handler = await loadHandler();
  for (;;) {
    const next = await call("GET", "invocation/next");
    if (next.status !== 200) process.exit(0);
    const id = next.headers["lambda-runtime-aws-request-id"];
    currentRequestId = id;
    if (next.headers["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"];
    const context = makeContext(next.headers);
    try {
      const text = next.body.toString("utf8");
      const event = text ? JSON.parse(text) : {};
      if (handler[STREAMING] === "response") {
        await runStreaming(handler, event, context, id);
        continue;
      }
      const result = await runHandler(handler, event, context);
      let out;
      try {
        out = JSON.stringify(result === undefined ? null : result);
      } catch (e) {
        throw Object.assign(new Error(`Unable to stringify response body: ${e.message}`), { name: "Runtime.MarshalError" });
      }
      await call("POST", `invocation/${id}/response`, out, { "Content-Type": "application/json" });
    } catch (err) {
      const body = errorObject(err);
      fs.writeSync(1, `${new Date().toISOString()}\t${id}\tERROR\tInvoke Error \t${JSON.stringify(body)}\n`);
      await call("POST", `invocation/${id}/error`, JSON.stringify(body), {
        "Lambda-Runtime-Function-Error-Type": body.errorType,
        "Content-Type": "application/json",
      });
    }
  }
}

main().catch((e) => {
  fs.writeSync(2, `runtime failure: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
