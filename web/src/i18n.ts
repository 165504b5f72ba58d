// Every label in both languages; Chinese first, English one click away (kept per browser).
import { ref } from "vue";
import audit from "./messages/audit";
import calltaker from "./messages/calltaker";
import crew from "./messages/crew";
import notify from "./messages/notify";
import reassign from "./messages/reassign";
import reports from "./messages/reports";
import storm from "./messages/storm";
import support from "./messages/support";

export type Locale = "zh-CN" | "en";

const board = {
  "zh-CN": {
    title: "everycall 调度看板",
    promise: "有呼必应、有难必帮",
    username: "用户名",
    password: "密码",
    signIn: "登录",
    signOut: "退出",
    wrongPassword: "用户名或密码错误",
    tooMany: "尝试次数过多，请稍后再试",
    live: "实时",
    lost: "连接中断，正在重连…",
    queue: "等待队列",
    open: "处理中的工单",
    waiting: "已等待",
    minutes: "分钟",
    state: "状态",
    priority: "优先级",
    kind: "类型",
    region: "地区",
    team: "队伍",
    address: "地址",
    reported: "报告时间",
    none: "暂无",
    report: "登记诉求",
    latitude: "纬度",
    longitude: "经度",
    submit: "提交",
    submitted: "已受理",
    teamsUseApp: "队员请使用手机端班组应用，看板仅供调度中心与审计使用。",
    readOnly: "审计只读",
    sla: "时限",
    detail: "工单详情",
    timeline: "时间线",
    why: "派单依据",
    rank: "排名",
    distance: "距离",
    eta: "预计到达",
    chosen: "选中",
    cancel: "取消工单",
    reason: "原因",
    changePriority: "调整优先级",
    unlink: "取消合并",
    close: "关闭",
    actor: "操作人",
    map: "湖北省地图",
    all: "全部",
    language: "English",
    navBoard: "调度看板",
    navAudit: "审计",
    navReports: "报表与台账",
    listed: "列表显示最早的",
    narrow: "其余的在地图上，可用筛选缩小范围。",
    reportsHere: "起报修在此",
    etaOnSite: "预计到场",
    powerBack: "预计复电",
    inMinutes: "分钟后",
  },
  en: {
    title: "everycall dispatch board",
    promise: "Every call answered, every difficulty helped",
    username: "Username",
    password: "Password",
    signIn: "Sign in",
    signOut: "Sign out",
    wrongPassword: "Wrong username or password",
    tooMany: "Too many attempts; try again shortly",
    live: "Live",
    lost: "Connection lost; reconnecting…",
    queue: "Queue",
    open: "Open incidents",
    waiting: "Waiting",
    minutes: "min",
    state: "State",
    priority: "Priority",
    kind: "Kind",
    region: "Region",
    team: "Team",
    address: "Address",
    reported: "Reported",
    none: "None",
    report: "Report an incident",
    latitude: "Latitude",
    longitude: "Longitude",
    submit: "Submit",
    submitted: "Accepted",
    teamsUseApp: "Team members use the crew app; the board is for the dispatch center and auditors.",
    readOnly: "Auditor: read only",
    sla: "SLA",
    detail: "Incident detail",
    timeline: "Timeline",
    why: "Why this team",
    rank: "Rank",
    distance: "Distance",
    eta: "ETA",
    chosen: "Chosen",
    cancel: "Cancel incident",
    reason: "Reason",
    changePriority: "Change priority",
    unlink: "Unlink duplicate",
    close: "Close",
    actor: "Who",
    map: "Map of Hubei",
    all: "All",
    language: "中文",
    navBoard: "Board",
    navAudit: "Audit",
    navReports: "Reports and ledger",
    listed: "Listed, oldest first:",
    narrow: "The rest are on the map; the filters narrow the list down.",
    reportsHere: "reports here",
    etaOnSite: "ETA on site",
    powerBack: "Power back by",
    inMinutes: "min from now",
  },
} as const;

// each screen keeps its own labels beside the board's; a key missing in one language fails the build
const messages = {
  "zh-CN": { ...board["zh-CN"], ...audit["zh-CN"], ...calltaker["zh-CN"], ...crew["zh-CN"], ...notify["zh-CN"], ...reassign["zh-CN"], ...reports["zh-CN"], ...storm["zh-CN"], ...support["zh-CN"] },
  en: { ...board.en, ...audit.en, ...calltaker.en, ...crew.en, ...notify.en, ...reassign.en, ...reports.en, ...storm.en, ...support.en },
};

export type MessageKey = keyof (typeof messages)["zh-CN"];

const stored = globalThis.localStorage?.getItem("everycall.locale");
export const locale = ref<Locale>(stored === "en" ? "en" : "zh-CN");

export function t(key: MessageKey): string {
  return messages[locale.value][key];
}

export function toggleLocale(): void {
  locale.value = locale.value === "zh-CN" ? "en" : "zh-CN";
  globalThis.localStorage?.setItem("everycall.locale", locale.value);
  document.documentElement.lang = locale.value;
}

// Times are read in Asia/Shanghai, whatever the browser's zone; the server keeps UTC.
// one formatter per language: making one costs what formatting a few hundred times does
const clockFormats = new Map<Locale, Intl.DateTimeFormat>();

export function shanghaiTime(iso: string): string {
  let format = clockFormats.get(locale.value);
  if (!format) {
    // hourCycle h23, not hour12: false, which some engines read as h24 (midnight as 24:00:05)
    const options = { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" } as const;
    format = new Intl.DateTimeFormat(locale.value, options);
    clockFormats.set(locale.value, format);
  }
  return format.format(new Date(iso));
}

const minuteFormats = new Map<Locale, Intl.DateTimeFormat>();

/** A moment as the Shanghai clock reads it to the minute (an estimate claims no seconds). */
export function shanghaiMinute(iso: string): string {
  let format = minuteFormats.get(locale.value);
  if (!format) {
    // hourCycle, not hour12: false, which some engines read as h24 and show midnight as 24:30
    const options = { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hourCycle: "h23" } as const;
    format = new Intl.DateTimeFormat(locale.value, options);
    minuteFormats.set(locale.value, format);
  }
  return format.format(new Date(iso));
}

export function waitedMinutes(fromIso: string, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - new Date(fromIso).getTime()) / 60000));
}

const STATES: Record<string, [string, string]> = {
  reported: ["已受理", "reported"],
  queued: ["排队中", "queued"],
  assigned: ["已派单", "assigned"],
  acknowledged: ["已接单", "acknowledged"],
  en_route: ["在途", "en route"],
  on_scene: ["到场", "on scene"],
  resolved: ["已解决", "resolved"],
  cancelled: ["已取消", "cancelled"],
  merged: ["已合并", "merged"],
};

export function stateLabel(state: string): string {
  const names = STATES[state];
  return names ? names[locale.value === "zh-CN" ? 0 : 1] : state;
}

// The choices the board offers, each with its Chinese name beside the value the API takes.
export const KINDS: [string, string][] = [
  ["repair", "抢修"], ["outage", "停电"], ["disaster_relief", "抢险救灾"], ["equipment_check", "设备体检"],
  ["vulnerable_assistance", "困难帮扶"],
];
export const PRIORITIES: [string, string][] = [
  ["critical", "紧急"], ["hardship", "困难户"], ["normal", "普通"], ["low", "低"],
];

export const allMessages = messages;
