import { cardMethod } from '../card';

export default cardMethod('credit_card');
