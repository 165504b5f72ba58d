// Labels of what the crew was told and when it saw it (the incident detail), in both
// languages; merged into i18n.ts.
export default {
  "zh-CN": {
    noticeNotified: "已通知",
    noticeSeen: "已查看",
  },
  en: {
    noticeNotified: "Notified",
    noticeSeen: "seen",
  },
} as const;
