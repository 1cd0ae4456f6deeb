// Runs the client against a server: node dist/run.js http://127.0.0.1:8000
import { createTasksClient } from "./tasks.js";

const baseUrl = process.argv[2] ?? "http://127.0.0.1:8000";
const api = createTasksClient(baseUrl);
const email = `ts-${Date.now()}@example.com`;

await api.register(email, "correct horse battery", "TypeScript");
await api.login(email, "correct horse battery");

// `completed` and `priority` have defaults, so a create may leave them out.
const task = await api.createTask({ title: "Send the invoice", due: "2026-12-01", tags: ["work"] });
const open = await api.openTasksTagged("work");
if (!open.some((t) => t.id === task.id)) throw new Error("the new task is not listed");

await api.refresh();
const done = await api.completeTask(task.id);
if (!done.completed || done.completed_at === null) throw new Error("the task is not completed");

await api.deleteTask(task.id);
if ((await api.getTask(task.id)) !== undefined) throw new Error("the task is still there");
console.log(`ok: created, listed, completed and deleted ${task.id}`);
