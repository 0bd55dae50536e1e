/** File locks: the repository's lock manager workflow and the holder API any workflow uses to take locks. */
export { fileLocks } from './fileLocks';
export { acquire, release, releaseAll, withLocks, withLockCleanup, isHeld, type AcquireOptions, type LockGrant } from './holder';
