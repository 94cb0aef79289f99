import { ApiError, type ApiClient, type WaitingRoom } from './api-client.js';

export type Admission = { open: true } | { open: false; room: WaitingRoom };

/**
 * The premiere hook (§4.9): where the waiting room will stand between a buyer and the seat map.
 * Today it only asks whether the session has a room; without one (404: no room, or the API
 * before §4.9) the map opens at once. Joining the line, the live position and the admission
 * belong here when the API serves them; until then a session with a room is reported, not
 * entered, since its holds would be refused for a buyer not admitted.
 */
export async function admission(api: ApiClient, sessionId: string): Promise<Admission> {
  try {
    return { open: false, room: await api.waitingRoom(sessionId) };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { open: true };
    throw error;
  }
}
