// The ssh options every look into a test guest uses: never prompt, offer only the given key, accept
// the guest's fresh host key without recording it (each guest is new), and give up on a dead address.
export const GUEST_SSH_OPTIONS: readonly string[] = [
  '-o',
  'BatchMode=yes',
  '-o',
  'IdentitiesOnly=yes',
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'LogLevel=ERROR',
  '-o',
  'ConnectTimeout=10',
];
