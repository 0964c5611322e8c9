export declare const CACHE_DIR: string;
export declare const BUNDLE_DIR: string;
export declare const COMPILE_CACHE_DIR: string;
export declare function installedVersion(packageName: string, prefix?: string): string | undefined;
