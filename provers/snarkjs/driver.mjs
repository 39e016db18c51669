// One stage of the snarkjs-groth16 prover in one node process, through snarkjs's JS API.
//
//   node driver.mjs ptau POWER OUT.ptau            powers of tau: new, one contribution, phase 2
//   node driver.mjs setup R1CS PTAU ZKEY VK.json   groth16 zkey, one contribution, verifying key
//   node driver.mjs witness WASM INPUT.json WTNS   the circuit's own wasm witness calculator
//   node driver.mjs prove ZKEY WTNS PROOF.json     proof and public signals as JSON
//   node driver.mjs verify VK.json PROOF.json      prints {"verified": true|false}
//
// snarkjs is loaded from the path in ZKBENCH_SNARKJS_MAIN. Contributions draw their entropy
// from node's CSPRNG. Every path is given by the caller; any error exits non-zero with one line.

import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

// The adapter installs snarkjs into its cache directory and names its entry point here.
const snarkjs = await import(pathToFileURL(process.env.ZKBENCH_SNARKJS_MAIN).href);

function entropy() {
    return randomBytes(32).toString("hex");
}

async function ptau(power, out) {
    const curve = await snarkjs.curves.getCurveFromName("bn128");
    const fresh = `${out}.0.tmp`;
    const contributed = `${out}.1.tmp`;
    const prepared = `${out}.2.tmp`;
    await snarkjs.powersOfTau.newAccumulator(curve, Number(power), fresh);
    await snarkjs.powersOfTau.contribute(fresh, contributed, "zkbench", entropy());
    await snarkjs.powersOfTau.preparePhase2(contributed, prepared);
    renameSync(prepared, out);  // the cache only ever holds finished files
}

async function setup(r1cs, ptauFile, zkey, vkFile) {
    const initial = `${zkey}.0.tmp`;
    await snarkjs.zKey.newZKey(r1cs, ptauFile, initial);
    await snarkjs.zKey.contribute(initial, zkey, "zkbench", entropy());
    const vk = await snarkjs.zKey.exportVerificationKey(zkey);
    writeFileSync(vkFile, JSON.stringify(vk));
}

async function witness(wasm, inputFile, wtns) {
    const input = JSON.parse(readFileSync(inputFile, "utf8"));
    await snarkjs.wtns.calculate(input, wasm, wtns);
}

async function prove(zkey, wtns, proofFile) {
    const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, wtns);
    writeFileSync(proofFile, JSON.stringify({ proof, publicSignals }));
}

async function verify(vkFile, proofFile) {
    const vk = JSON.parse(readFileSync(vkFile, "utf8"));
    const { proof, publicSignals } = JSON.parse(readFileSync(proofFile, "utf8"));
    const verified = await snarkjs.groth16.verify(vk, publicSignals, proof);
    process.stdout.write(JSON.stringify({ verified }) + "\n");
}

const commands = { ptau, setup, witness, prove, verify };
const [command, ...args] = process.argv.slice(2);
if (!(command in commands)) {
    process.stderr.write(`driver.mjs: unknown command ${JSON.stringify(command)}\n`);
    process.exit(2);
}
try {
    await commands[command](...args);
} catch (err) {
    process.stderr.write(`driver.mjs ${command}: ${err && err.message ? err.message : err}\n`);
    process.exit(1);
}
// snarkjs keeps worker threads for its curve; leave without waiting for them.
process.exit(0);
