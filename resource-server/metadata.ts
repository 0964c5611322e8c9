/**
 * RFC 9728 Protected Resource Metadata (R2): how a client that got a 401 learns which authorization
 * server to use and which scope to start with. Served at the path-suffixed well-known URL
 * (RFC 9728 §3.1: `/.well-known/oauth-protected-resource` + the resource's path `/mcp`).
 */
import type { RequestHandler } from "express";
import type { Config } from "../shared/config.ts";
import { BASIC_SCOPE } from "./challenge.ts";

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: string[];
  resource_name: string;
}

/** The path part of `config.resourceMetadataUrl`, where the app serves the document. */
export function metadataPath(config: Config): string {
  return new URL(config.resourceMetadataUrl).pathname;
}

export function protectedResourceMetadata(config: Config): ProtectedResourceMetadata {
  return {
    // RFC 9728 §3.3: byte-equal to the resource identifier the client used (no trailing slash).
    resource: config.resource,
    authorization_servers: [config.issuer],
    // The minimal set for basic use (MCP "Scope Selection Strategy"); wider scopes come by step-up.
    scopes_supported: [BASIC_SCOPE],
    // RFC 6750 §2.1 only: a token in the query string (§2.3) or a form body (§2.2) is ignored (R3).
    bearer_methods_supported: ["header"],
    resource_name: "Scoped-tools MCP server (step-up demo)",
  };
}

export function metadataHandler(config: Config): RequestHandler {
  const document = protectedResourceMetadata(config);
  return (_req, res) => {
    res.json(document);
  };
}
