// Maintenance windows: when an Update may start nodes. Times are UTC ("HH:MM"); a window whose end is
// before its start runs past midnight, into the day after the one it is listed for.
export const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface MaintenanceWindow {
  /** Days the window opens on; all days when empty or unset. */
  days?: Weekday[];
  start: string;
  end: string;
}

const minutesOf = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

function opensOn(window: MaintenanceWindow, day: number): boolean {
  return !window.days?.length || window.days.includes(WEEKDAYS[day]!);
}

/** Whether `now` is inside one of the windows; no windows means always. */
export function inMaintenanceWindow(windows: readonly MaintenanceWindow[] | undefined, now: Date): boolean {
  if (!windows?.length) return true;
  const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
  const today = now.getUTCDay();
  const yesterday = (today + 6) % 7;
  return windows.some((w) => {
    const start = minutesOf(w.start);
    const end = minutesOf(w.end);
    if (start < end) return opensOn(w, today) && minute >= start && minute < end;
    // Past midnight: the evening part today, or the morning part of yesterday's window.
    return (opensOn(w, today) && minute >= start) || (opensOn(w, yesterday) && minute < end);
  });
}

export function describeWindows(windows: readonly MaintenanceWindow[]): string {
  return windows
    .map((w) => `${w.days?.length ? `${w.days.join(',')} ` : ''}${w.start}-${w.end} UTC`)
    .join('; ');
}
