// Reading what a cold start left in the logs: the replica's listening line in <state>/logs/<function>-N.log,
// and SlimFaas's own timestamps for the phases of the start.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Byte sizes of the files in the logs directory, to read only what a run appended. */
export function logSizes(logsDir) {
  const sizes = new Map();
  try {
    for (const name of readdirSync(logsDir)) sizes.set(name, statSync(join(logsDir, name)).size);
  } catch {
    // no logs yet
  }
  return sizes;
}

/** The `listening` event a replica of functionName logged after `before` (lines look like `cold-0 | {...}`). */
export function findListening(logsDir, before, functionName) {
  for (const [name, size] of logSizes(logsDir)) {
    if (!name.startsWith(`${functionName}-`)) continue;
    const appended = readFileSync(join(logsDir, name))
      .subarray(before.get(name) ?? 0, size)
      .toString('utf8');
    for (const line of appended.split('\n')) {
      const json = line.indexOf('{');
      if (json === -1) continue;
      try {
        const event = JSON.parse(line.slice(json));
        if (event.event === 'listening' && event.function === functionName)
          return { ...event, logFile: name };
      } catch {
        // not a JSON line
      }
    }
  }
  return undefined;
}

/**
 * Where the time of one cold start went, from SlimFaas's own log lines (pino JSON with `time` in epoch ms) and
 * the replica's `at`. Best effort: a phase whose log line is not found is left out.
 *   beforeCommandStart: request sent → the replica's command started (scale decision, spawn)
 *   functionStart:      the function's own start from its command (commandStartToReadyMs)
 *   listeningToReady:   the replica listens → SlimFaas marks it ready (readiness probing)
 *   readyToResponse:    ready → the response is back (held request released, proxied, answered)
 */
export function timeline({ slimfaasLog, fromByte, requestAt, responseAt, listening, functionName }) {
  let text;
  try {
    text = readFileSync(slimfaasLog).subarray(fromByte).toString('utf8');
  } catch {
    return undefined;
  }
  const events = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      events.push(JSON.parse(line));
    } catch {
      // not JSON
    }
  }
  const ours = (e) => e.function === functionName || e.name === functionName;
  const scale = events.find((e) => ours(e) && e.component === 'scaler' && e.to >= 1);
  const started = events.find((e) => ours(e) && e.msg === 'replica started');
  const ready = events.find((e) => ours(e) && e.msg === 'replica ready');
  const commandStartAt = listening.at - listening.commandStartToReadyMs;
  return {
    beforeCommandStart: commandStartAt - requestAt,
    functionStart: listening.commandStartToReadyMs,
    commandToNodeClock: listening.commandStartToReadyMs - listening.startToReadyMs,
    listeningToReady: ready ? ready.time - listening.at : undefined,
    readyToResponse: ready ? responseAt - ready.time : undefined,
    requestToScaleDecision: scale ? scale.time - requestAt : undefined,
    scaleDecisionToSpawned: scale && started ? started.time - scale.time : undefined,
    spawnedToCommandStart: started ? commandStartAt - started.time : undefined,
  };
}
