// A typed client for the Tasks API: the types come from the committed OpenAPI contract
// (npm run generate), the calls from openapi-fetch. Every path, parameter, body and response
// below is checked by `tsc --strict` against the contract.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Task = components["schemas"]["TaskPublic"];
export type Problem = components["schemas"]["Problem"];

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
  }
}

export function createTasksClient(baseUrl: string) {
  const client = createClient<paths>({ baseUrl });
  let accessToken: string | undefined;
  let refreshToken: string | undefined;

  // Every request after login carries the access token.
  const auth: Middleware = {
    onRequest({ request }) {
      if (accessToken) request.headers.set("Authorization", `Bearer ${accessToken}`);
      return request;
    },
  };
  client.use(auth);

  return {
    async register(email: string, password: string, name?: string): Promise<void> {
      const { error, response } = await client.POST("/api/v1/auth/register", {
        body: name === undefined ? { email, password } : { email, password, name },
      });
      // 409: the account exists already, which is fine for an example run twice.
      if (error && response.status !== 409) throw new ApiError(error);
    },

    async login(email: string, password: string): Promise<void> {
      // The OAuth2 password grant is a form, not JSON.
      const { data, error } = await client.POST("/api/v1/auth/token", {
        body: { username: email, password },
        bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      });
      if (error) throw new ApiError(error);
      accessToken = data.access_token;
      refreshToken = data.refresh_token;
    },

    // Trade the refresh token for a new pair; the old one stops working (rotation).
    async refresh(): Promise<void> {
      if (!refreshToken) throw new Error("log in first");
      const { data, error } = await client.POST("/api/v1/auth/refresh", {
        body: { refresh_token: refreshToken },
      });
      if (error) throw new ApiError(error);
      accessToken = data.access_token;
      refreshToken = data.refresh_token;
    },

    async createTask(body: components["schemas"]["TaskCreate"]): Promise<Task> {
      const { data, error } = await client.POST("/api/v1/tasks", { body });
      if (error) throw new ApiError(error);
      return data;
    },

    async openTasksTagged(tag: string): Promise<Task[]> {
      const { data, error } = await client.GET("/api/v1/tasks", {
        params: { query: { completed: false, tag: [tag], sort: "due" } },
      });
      if (error) throw new ApiError(error);
      return data.items;
    },

    async completeTask(taskId: string): Promise<Task> {
      const { data, error } = await client.POST("/api/v1/tasks/{task_id}/complete", {
        params: { path: { task_id: taskId } },
      });
      if (error) throw new ApiError(error);
      return data;
    },

    async getTask(taskId: string): Promise<Task | undefined> {
      const { data, error, response } = await client.GET("/api/v1/tasks/{task_id}", {
        params: { path: { task_id: taskId } },
      });
      // Missing and "not yours" are the same answer: 404.
      if (response.status === 404) return undefined;
      if (error) throw new ApiError(error);
      return data;
    },

    async deleteTask(taskId: string): Promise<void> {
      const { error } = await client.DELETE("/api/v1/tasks/{task_id}", {
        params: { path: { task_id: taskId } },
      });
      if (error) throw new ApiError(error);
    },
  };
}
